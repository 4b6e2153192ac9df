//! A `redis-server` of a test's own, on a free loopback port, stopped when dropped; and
//! commands sent to it as `redis-cli` would (RESP over TCP), to set a scene or look at it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

pub struct Redis {
    child: Option<std::process::Child>,
    pub port: u16,
    /// Where it keeps its append-only file, when it keeps one.
    dir: Option<PathBuf>,
}

impl Redis {
    /// Start one, keeping nothing on disk.
    pub fn start() -> Option<Redis> {
        Redis::on(free_port()?, None)
    }

    /// Start one that keeps every write in an append-only file in `dir` (fsync'd each
    /// time): killed and started again on the same port and `dir`, it has lost nothing.
    pub fn durable(dir: PathBuf) -> Option<Redis> {
        Redis::on(free_port()?, Some(dir))
    }

    pub fn on(port: u16, dir: Option<PathBuf>) -> Option<Redis> {
        let mut command = std::process::Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--protected-mode", "no"]);
        match &dir {
            Some(dir) => command
                .args(["--appendonly", "yes", "--appendfsync", "always"])
                .arg("--dir")
                .arg(dir),
            None => command.args(["--appendonly", "no"]),
        };
        let Ok(child) = command.stdout(std::process::Stdio::null()).spawn() else {
            panic!("redis-server not found, though the build found it: rebuild");
        };
        let redis = Redis {
            child: Some(child),
            port,
            dir,
        };
        for _ in 0..200 {
            if redis.ping() {
                return Some(redis);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("redis-server on port {port} did not answer");
    }

    /// One started elsewhere, on `port` (commands only: dropping it stops nothing).
    pub fn attach(port: u16) -> Redis {
        Redis {
            child: None,
            port,
            dir: None,
        }
    }

    /// Start it again on its port (and its file), after `kill`.
    pub fn restart(&mut self) {
        let again = Redis::on(self.port, self.dir.clone()).expect("redis-server restarted");
        *self = again;
    }

    pub fn ping(&self) -> bool {
        let Ok(mut conn) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut answer = [0u8; 7];
        conn.write_all(b"PING\r\n").is_ok()
            && conn.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// A shared job's URL on it.
    pub fn job(&self, name: &str) -> String {
        format!("redis://127.0.0.1:{}/{name}", self.port)
    }

    /// Send one command; its answer flattened to words (integers and strings, arrays
    /// in order, nil as an empty word).
    pub fn command(&self, args: &[&str]) -> Vec<String> {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).expect("redis answers");
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        conn.write_all(request.as_bytes()).expect("command sent");
        let mut reader = BufReader::new(conn);
        let mut words = Vec::new();
        read_reply(&mut reader, &mut words);
        words
    }

    /// Stop it (SIGKILL: as if the machine it ran on went away).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> Option<u16> {
    Some(
        std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port(),
    )
}

fn read_reply(reader: &mut impl BufRead, words: &mut Vec<String>) {
    let mut line = String::new();
    reader.read_line(&mut line).expect("a reply");
    let line = line.trim_end();
    let (kind, rest) = line.split_at(1);
    match kind {
        "+" | ":" => words.push(rest.to_string()),
        "-" => panic!("redis refused: {rest}"),
        "$" => {
            let Ok(len) = rest.parse::<usize>() else {
                words.push(String::new());
                return;
            };
            let mut bulk = vec![0u8; len + 2];
            reader.read_exact(&mut bulk).expect("a bulk string");
            bulk.truncate(len);
            words.push(String::from_utf8_lossy(&bulk).into_owned());
        }
        "*" => {
            for _ in 0..rest.parse::<i64>().unwrap_or(0) {
                read_reply(reader, words);
            }
        }
        _ => panic!("a reply not expected: {line}"),
    }
}
