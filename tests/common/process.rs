//! Portal processes for the tests: the lycée example (or another example) started as a
//! child process on a free loopback port, killed when the handle is dropped.

use std::io::BufRead;
use std::path::{Path, PathBuf};

/// A child process serving HTTP; killed on drop.
pub struct Process {
    child: std::process::Child,
    /// `http://127.0.0.1:port`.
    pub base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of a built example (`cargo build --examples`; `scripts/test.sh` does it).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/<test>-… → target/debug/examples/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: build the examples first (`cargo build --examples`)",
        path.display()
    );
    path
}

/// The lycée example with this configuration and data directory, on a free port.
pub fn lycee(config: &Path, data: &Path) -> Process {
    let mut command = std::process::Command::new(example_binary("lycee"));
    command.arg("--config").arg(config);
    serving(command, data)
}

/// An example that serves on `CARTABLE_LISTEN` and prints its address, with this data
/// directory, on a free port.
pub fn example(name: &str, data: &Path) -> Process {
    serving(std::process::Command::new(example_binary(name)), data)
}

fn serving(mut command: std::process::Command, data: &Path) -> Process {
    let mut child = command
        .env("CARTABLE_LISTEN", "127.0.0.1:0")
        .env("CARTABLE_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    while !line.contains("http://") {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .expect("the example prints its address");
        assert!(n > 0, "the example exited before listening");
    }
    // Keep reading what it prints so its writes never fail.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Process { child, base }
}
