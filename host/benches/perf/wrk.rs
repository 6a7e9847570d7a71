//! wrk, the HTTP load generator the benches drive (Debian package `wrk`; `.ci/run` installs it).

use std::time::Duration;

/// What wrk reported.
pub struct Wrk {
    pub requests: u64,
    pub per_sec: f64,
    pub p99: Duration,
}

/// `wrk -t2 -c32 -d{secs}s --latency` with a distinct `X-Forwarded-For` (of 1,000) per request;
/// `None` when wrk is not installed. Fails loudly on non-2xx answers (wrk counts them), so a
/// rate limit cannot pass for speed.
pub fn wrk(url: &str, secs: u64) -> Option<Wrk> {
    let script = std::env::temp_dir().join(format!("zondarr-perf-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        "local n = 0\n\
         request = function()\n\
           n = (n + 1) % 1000\n\
           wrk.headers[\"X-Forwarded-For\"] = \"10.0.\" .. math.floor(n / 250) .. \".\" .. (n % 250 + 1)\n\
           return wrk.format()\n\
         end\n",
    )
    .unwrap();
    let out = std::process::Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{secs}s"), "--latency", "-s"])
        .arg(&script)
        .arg(url)
        .output();
    let _ = std::fs::remove_file(&script);
    let out = out.ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "wrk saw errors from {url}:\n{text}"
    );
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {prefix} in wrk's output:\n{text}"))
    };
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    Some(Wrk {
        requests,
        per_sec: field("Requests/sec:").parse().unwrap(),
        p99: wrk_duration(&field("99%")),
    })
}

/// wrk's `812.00us`, `2.51ms`, `1.02s`.
fn wrk_duration(v: &str) -> Duration {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("wrk duration {v}"));
    Duration::from_secs_f64(match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => panic!("wrk duration {v}"),
    })
}
