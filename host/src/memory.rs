//! Giving back what start-up used, once the daemon listens (docs/performance.md, "Idle memory").
//!
//! Start-up reads things once: the embedded connectors (components and their build-time code,
//! about 7 MiB, hashed, compared and copied into the engine), the migrations, the templates and
//! translations, and the code that does all that. Two kinds of memory stay behind:
//! - heap freed by start-up that glibc keeps in its arenas: given back with `malloc_trim`;
//! - pages of the executable itself (code and read-only data). They are clean copies of the file
//!   in the page cache, not the daemon's own memory, but they count as resident as long as the
//!   process maps them. They are unmapped here; whatever runs later maps its pages back (a minor
//!   fault, from the page cache), so the resident figure then shows what the daemon uses.

/// Give back start-up's memory. Linux only; elsewhere nothing to do.
pub(crate) fn after_startup() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only releases memory no allocation holds.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
    #[cfg(target_os = "linux")]
    {
        let dropped = drop_clean_executable_pages();
        tracing::debug!(kib = dropped / 1024, "unmapped start-up's executable pages");
    }
}

/// One mapping of `/proc/self/smaps`.
#[cfg(target_os = "linux")]
struct Mapping {
    start: usize,
    end: usize,
    /// Read-only or read-execute, private, a mapping of `exe`.
    candidate: bool,
    /// Pages copied on write (relocations): these hold data the file does not.
    anonymous_kib: u64,
    swap_kib: u64,
}

/// Unmap the executable's read-only mappings that hold nothing but the file's own bytes
/// (no page ever written: no anonymous or swapped page). Returns the bytes of address space
/// advised. Mappings with written pages (the relocated `.data.rel.ro`, now read-only) are left
/// alone: dropping those would lose the relocations.
#[cfg(target_os = "linux")]
fn drop_clean_executable_pages() -> usize {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return 0;
    };
    let Some(exe) = exe.to_str() else { return 0 };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut advised = 0;
    for m in parse(&smaps, exe) {
        if m.candidate && m.anonymous_kib == 0 && m.swap_kib == 0 && m.end > m.start {
            // SAFETY: [start, end) is a whole private, read-only mapping of the executable in
            // which no page was ever written (no anonymous page): every page equals the file.
            // MADV_DONTNEED only removes the pages from this process's page tables; the next
            // access maps the same contents back from the file, so no code or reference ever
            // observes a change.
            #[allow(unsafe_code)]
            let rc = unsafe {
                libc::madvise(
                    m.start as *mut libc::c_void,
                    m.end - m.start,
                    libc::MADV_DONTNEED,
                )
            };
            if rc == 0 {
                advised += m.end - m.start;
            }
        }
    }
    advised
}

#[cfg(target_os = "linux")]
fn parse(smaps: &str, exe: &str) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            let perms = fields.next().unwrap_or("");
            // offset, device, inode, then the path (which may contain spaces).
            let path = line
                .splitn(6, char::is_whitespace)
                .nth(5)
                .map(str::trim)
                .unwrap_or("");
            let p = perms.as_bytes();
            out.push(Mapping {
                start,
                end,
                candidate: p.len() == 4
                    && p[0] == b'r'
                    && p[1] == b'-'
                    && p[3] == b'p'
                    && path == exe,
                anonymous_kib: 0,
                swap_kib: 0,
            });
            continue;
        }
        let Some(m) = out.last_mut() else { continue };
        let value = || fields.clone().next().and_then(|v| v.parse::<u64>().ok());
        match first {
            "Anonymous:" => m.anonymous_kib = value().unwrap_or(u64::MAX),
            "Swap:" => m.swap_kib = value().unwrap_or(u64::MAX),
            _ => {}
        }
    }
    out
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn only_clean_private_read_only_mappings_of_the_executable_are_candidates() {
        let smaps = "\
55d000000000-55d000100000 r--p 00000000 08:01 42 /opt/zondarr bin/zondarr
Rss:                 400 kB
Anonymous:             0 kB
Swap:                  0 kB
55d000100000-55d000200000 r-xp 00100000 08:01 42 /opt/zondarr bin/zondarr
Anonymous:             0 kB
Swap:                  0 kB
55d000200000-55d000210000 r--p 00200000 08:01 42 /opt/zondarr bin/zondarr
Anonymous:            64 kB
Swap:                  0 kB
55d000210000-55d000220000 rw-p 00210000 08:01 42 /opt/zondarr bin/zondarr
Anonymous:             8 kB
7f0000000000-7f0000100000 r-xp 00000000 08:01 7 /usr/lib/libc.so.6
Anonymous:             0 kB
7f0000100000-7f0000200000 rw-p 00000000 00:00 0 
Anonymous:           100 kB
";
        let maps = parse(smaps, "/opt/zondarr bin/zondarr");
        assert_eq!(maps.len(), 6);
        let dropped: Vec<_> = maps
            .iter()
            .filter(|m| m.candidate && m.anonymous_kib == 0 && m.swap_kib == 0)
            .map(|m| m.start)
            .collect();
        assert_eq!(dropped, vec![0x55d0_0000_0000, 0x55d0_0010_0000]);
        assert_eq!(maps[2].anonymous_kib, 64, "relocated data is kept");
    }

    #[test]
    fn dropping_the_pages_keeps_the_executable_working() {
        static DATA: [u8; 3 * 65536] = [7; 3 * 65536];
        let before: u64 = DATA.iter().map(|&b| u64::from(b)).sum();
        assert!(
            drop_clean_executable_pages() > 0,
            "the test binary maps its own code"
        );
        let after: u64 = std::hint::black_box(&DATA)
            .iter()
            .map(|&b| u64::from(b))
            .sum();
        assert_eq!(before, after);
        assert_eq!(format!("{}", 6 * 7), "42");
    }
}
