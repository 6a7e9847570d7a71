//! Giving back what start-up used, once the daemon listens, and what requests brought in, each
//! time the daemon goes idle (docs/performance.md, "Idle memory").
//!
//! Start-up reads things once: the embedded connectors (components and their build-time code,
//! about 7 MiB, hashed, compared with their code-cache entries and mapped from those), the
//! migrations, the templates and translations, and the code that does all that. Three kinds of
//! memory stay behind:
//! - heap freed by start-up that glibc keeps in its arenas: given back with `malloc_trim`;
//! - pages of the executable itself (code and read-only data). They are clean copies of the file
//!   in the page cache, not the daemon's own memory, but they count as resident as long as the
//!   process maps them. They are unmapped here; whatever runs later maps its pages back (a minor
//!   fault, from the page cache), so the resident figure then shows what the daemon uses;
//! - pages of the connectors' compiled code: it is mapped from the code cache's files
//!   (`plugins.cache_dir`), so these too are clean copies of files, unmapped the same way.
//!
//! Requests map code back in, and on Linux a fault maps a whole page-cache folio of it (up to
//! 0.9 MiB), so a few requests bring back 10 MiB; [`watch_idle`] unmaps them again once the
//! daemon has been idle for a moment.
//!
//! Unmapping a clean page of a file is safe only while the file's bytes never change under the
//! mapping: the executable is replaced by a package manager's rename, and the code cache writes
//! every entry to a temporary file and renames it into place (`plugins/cache.rs`), so a mapped
//! inode is never written.

use std::path::{Path, PathBuf};

/// How long the daemon answers no request before [`watch_idle`] gives memory back.
pub(crate) const IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Give back start-up's memory. Linux only; elsewhere nothing to do.
pub(crate) fn after_startup(files: &MappedFiles) {
    give_back(files);
}

/// The files whose clean pages may be unmapped: the executable and, by prefix, the code cache.
#[derive(Debug, Clone, Default)]
pub(crate) struct MappedFiles {
    exe: Option<String>,
    /// With a trailing `/`, so that only files inside it match.
    code_dir: Option<String>,
}

impl MappedFiles {
    fn holds(&self, path: &str) -> bool {
        self.exe.as_deref() == Some(path)
            || self
                .code_dir
                .as_deref()
                .is_some_and(|dir| path.starts_with(dir))
    }
}

/// The executable and `code_dir`, the compiled-code cache whose files the connectors' code is
/// mapped from, as `/proc/self/smaps` shows paths: absolute, links resolved.
pub(crate) fn mapped_files(code_dir: &Path) -> MappedFiles {
    let exe = std::fs::read_link("/proc/self/exe")
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned));
    let code_dir = std::fs::canonicalize(code_dir)
        .ok()
        .and_then(|p: PathBuf| p.to_str().map(|s| format!("{}/", s.trim_end_matches('/'))));
    MappedFiles { exe, code_dir }
}

/// Each time the daemon goes idle (no request answered for [`IDLE_AFTER`] to twice that), give
/// back what the requests before it brought in, as after start-up: the code pages they ran map
/// back in whole page-cache folios (up to 0.9 MiB per fault, docs/performance.md "Idle
/// memory"), and heap that C code freed. Once per idle spell: nothing runs again until a request
/// is answered. The next request maps the code it runs back from the page cache (minor faults,
/// no disk read while the file stays cached). `answered` reads a counter of requests answered.
pub(crate) async fn watch_idle(answered: impl Fn() -> u64, files: MappedFiles) {
    let mut idle = IdleSpell::default();
    let mut tick = tokio::time::interval(IDLE_AFTER);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if idle.tick(answered()) {
            // Reading smaps and a few madvise calls: a millisecond or two, off the async threads.
            let files = files.clone();
            let _ = tokio::task::spawn_blocking(move || give_back(&files)).await;
        }
    }
}

/// Decides, one tick at a time, when the daemon has gone idle.
#[derive(Debug, Default)]
struct IdleSpell {
    /// The counter at the last tick.
    last: Option<u64>,
    /// The counter when memory was last given back.
    given_back_at: Option<u64>,
}

impl IdleSpell {
    /// True when no request was answered over the whole last tick and memory was not given
    /// back since the last answered request.
    fn tick(&mut self, answered: u64) -> bool {
        let quiet = self.last == Some(answered);
        self.last = Some(answered);
        if quiet && self.given_back_at != Some(answered) {
            self.given_back_at = Some(answered);
            return true;
        }
        false
    }
}

fn give_back(files: &MappedFiles) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only releases memory no allocation holds.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
    #[cfg(target_os = "linux")]
    {
        let dropped = drop_clean_file_pages(files);
        tracing::debug!(
            kib = dropped / 1024,
            "unmapped clean pages of the executable and code"
        );
    }
}

/// One mapping of `/proc/self/smaps`.
#[cfg(target_os = "linux")]
struct Mapping {
    start: usize,
    end: usize,
    /// Read-only or read-execute, private, a mapping of one of the [`MappedFiles`].
    candidate: bool,
    /// Pages copied on write (relocations): these hold data the file does not.
    anonymous_kib: u64,
    swap_kib: u64,
}

#[cfg(target_os = "linux")]
impl Mapping {
    /// A whole read-only mapping of one of the files with no page ever written: every page
    /// equals the file, so unmapping its pages loses nothing.
    fn droppable(&self) -> bool {
        self.candidate && self.anonymous_kib == 0 && self.swap_kib == 0 && self.end > self.start
    }
}

/// Unmap the read-only mappings of `files` that hold nothing but the file's own bytes (no page
/// ever written: no anonymous or swapped page). Returns the bytes of address space advised.
/// Mappings with written pages (the executable's relocated `.data.rel.ro`, now read-only) are
/// left alone: dropping those would lose the relocations.
#[cfg(target_os = "linux")]
fn drop_clean_file_pages(files: &MappedFiles) -> usize {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut advised = 0;
    for m in parse(&smaps, files) {
        if m.droppable() {
            // SAFETY: [start, end) is a whole private, read-only mapping of a file that is never
            // written in place (module doc), in which no page was ever written (no anonymous
            // page): every page equals the file.
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
fn parse(smaps: &str, files: &MappedFiles) -> Vec<Mapping> {
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
                    && files.holds(path),
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
    fn only_clean_private_read_only_mappings_of_the_executable_and_the_code_cache_are_candidates() {
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
7f0000200000-7f0000300000 r-xp 00001000 08:01 9 /var/lib/zondarr/cache/ab-1.cwasm
Anonymous:             0 kB
Swap:                  0 kB
7f0000300000-7f0000310000 r--p 00101000 08:01 9 /var/lib/zondarr/cache/ab-1.cwasm
Anonymous:             4 kB
7f0000310000-7f0000320000 r--p 00000000 08:01 10 /var/lib/zondarr/cache/cd-1.cwasm (deleted)
Anonymous:             0 kB
7f0000320000-7f0000330000 r--p 00000000 08:01 11 /var/lib/zondarr/cache-old/ef-1.cwasm
Anonymous:             0 kB
";
        let files = MappedFiles {
            exe: Some("/opt/zondarr bin/zondarr".into()),
            code_dir: Some("/var/lib/zondarr/cache/".into()),
        };
        let maps = parse(smaps, &files);
        assert_eq!(maps.len(), 10);
        let dropped: Vec<_> = maps
            .iter()
            .filter(|m| m.droppable())
            .map(|m| m.start)
            .collect();
        assert_eq!(
            dropped,
            vec![
                0x55d0_0000_0000,
                0x55d0_0010_0000,
                // Compiled code from the cache, also once its file was replaced (the inode
                // stays while mapped); a written page keeps its mapping; a neighbouring folder
                // is not the cache.
                0x7f00_0020_0000,
                0x7f00_0031_0000,
            ]
        );
        assert_eq!(maps[2].anonymous_kib, 64, "relocated data is kept");
    }

    #[test]
    fn memory_is_given_back_once_per_idle_spell() {
        let mut idle = IdleSpell::default();
        // Start-up already gave back; the first tick only learns the counter.
        assert!(!idle.tick(0));
        assert!(idle.tick(0), "a whole tick without a request");
        assert!(!idle.tick(0), "once per spell");
        assert!(!idle.tick(0));
        assert!(!idle.tick(3), "requests were answered during the tick");
        assert!(!idle.tick(9), "still busy");
        assert!(idle.tick(9), "quiet again");
        assert!(!idle.tick(9));
    }

    #[test]
    fn dropping_the_pages_keeps_the_executable_working() {
        static DATA: [u8; 3 * 65536] = [7; 3 * 65536];
        let before: u64 = DATA.iter().map(|&b| u64::from(b)).sum();
        let files = mapped_files(&std::env::temp_dir());
        assert!(files.exe.is_some());
        assert!(
            drop_clean_file_pages(&files) > 0,
            "the test binary maps its own code"
        );
        let after: u64 = std::hint::black_box(&DATA)
            .iter()
            .map(|&b| u64::from(b))
            .sum();
        assert_eq!(before, after);
        // Code the test binary had already run (and whose pages were just dropped) still runs.
        assert_eq!(parse("", &MappedFiles::default()).len(), 0);
    }
}
