//! A lossy UDP relay the tests own, standing in for `netem` (which this kernel lacks): a
//! browser's media to and from the server passes through it, and each direction can lose,
//! delay, jitter (and so reorder) and rate-limit packets, changed while the call runs.
//!
//! The browser is pointed at the relay by a script run in its page before the page's own
//! ([`Relay::page_script`]): it rewrites the server's host candidates in the answer to relay
//! ports, asking the relay's control endpoint (`GET /map?port=P`, on loopback) for a relay port
//! that forwards to the server's port `P`. It also takes the browser's own candidates out of its
//! offer, so the server sees the browser only at the relay's upstream socket, as a
//! peer-reflexive candidate, as it would behind a NAT.

use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What one direction of the link does to packets.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Shape {
    /// Share of packets dropped at random (0.0–1.0).
    pub loss: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Each packet's delay varies by up to this much either way (packets then overtake).
    pub jitter: Duration,
    /// Bottleneck rate in bit/s; packets queue behind it, and beyond [`QUEUE_LIMIT`] of queue
    /// they are dropped. `None`: no limit.
    pub rate_bps: Option<u64>,
}

impl Shape {
    /// A clean link.
    pub const CLEAN: Shape = Shape {
        loss: 0.0,
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        rate_bps: None,
    };

    /// Random loss with a delay and jitter, no rate limit.
    pub fn lossy(loss: f64, delay_ms: u64, jitter_ms: u64) -> Shape {
        Shape {
            loss,
            delay: Duration::from_millis(delay_ms),
            jitter: Duration::from_millis(jitter_ms),
            rate_bps: None,
        }
    }
}

/// How long a packet may wait behind a rate limit before it is dropped (a router's buffer).
pub const QUEUE_LIMIT: Duration = Duration::from_millis(300);

/// Packets seen in one direction.
#[derive(Debug, Default)]
pub struct Counts {
    /// Forwarded (after their delay).
    pub forwarded: AtomicU64,
    /// Dropped at random.
    pub lost: AtomicU64,
    /// Dropped because the rate limit's queue was full.
    pub queue_drops: AtomicU64,
}

#[derive(Default)]
struct Link {
    /// Browser to server.
    up: Shape,
    /// Server to browser.
    down: Shape,
    /// When each direction's bottleneck is next free.
    up_free_at: Option<Instant>,
    down_free_at: Option<Instant>,
}

/// The relay: its control endpoint, the link's shape and the counts.
pub struct Relay {
    ctrl_port: u16,
    link: Arc<Mutex<Link>>,
    /// Browser to server.
    pub up: Arc<Counts>,
    /// Server to browser.
    pub down: Arc<Counts>,
    /// The relay's own runtime (one thread): a test that blocks its own threads never delays
    /// a packet.
    runtime: Option<tokio::runtime::Runtime>,
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Up,
    Down,
}

impl Relay {
    /// Starts the control endpoint on a loopback port; the link is clean until [`Relay::set`].
    pub fn start() -> Relay {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("udp-relay")
            .enable_all()
            .build()
            .expect("relay runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind relay");
        listener.set_nonblocking(true).expect("nonblocking");
        let _in_runtime = runtime.enter();
        let listener = TcpListener::from_std(listener).expect("relay listener");
        let ctrl_port = listener.local_addr().unwrap().port();
        let link = Arc::new(Mutex::new(Link::default()));
        let (up, down) = (Arc::new(Counts::default()), Arc::new(Counts::default()));
        let mapped: Arc<tokio::sync::Mutex<HashMap<u16, u16>>> = Arc::default();
        let (l, u, d) = (link.clone(), up.clone(), down.clone());
        runtime.spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (l, u, d, mapped) = (l.clone(), u.clone(), d.clone(), mapped.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let n = conn.read(&mut buf).await.unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]);
                    let port = req
                        .split_whitespace()
                        .nth(1)
                        .and_then(|path| path.strip_prefix("/map?port="))
                        .and_then(|p| p.parse::<u16>().ok());
                    let (status, body) = match port {
                        Some(p) => {
                            let mut mapped = mapped.lock().await;
                            let r = match mapped.get(&p) {
                                Some(r) => *r,
                                None => {
                                    let r = forward(p, l, u, d).await;
                                    mapped.insert(p, r);
                                    r
                                }
                            };
                            ("200 OK", r.to_string())
                        }
                        None => ("400 Bad Request", "GET /map?port=P".to_owned()),
                    };
                    let reply = format!(
                        "HTTP/1.1 {status}\r\nAccess-Control-Allow-Origin: *\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(reply.as_bytes()).await;
                });
            }
        });
        Relay {
            ctrl_port,
            link,
            up,
            down,
            runtime: Some(runtime),
        }
    }

    /// Sets what each direction does from now on.
    pub fn set(&self, up: Shape, down: Shape) {
        let mut link = self.link.lock().unwrap();
        link.up = up;
        link.down = down;
    }

    /// A script for `Page.addScriptToEvaluateOnNewDocument`: sends the page's WebRTC media
    /// through this relay.
    pub fn page_script(&self) -> String {
        format!(
            r#"(() => {{
  const ctrl = 'http://127.0.0.1:{port}';
  const original = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = async function (desc, ...rest) {{
    if (desc && desc.type === 'answer' && typeof desc.sdp === 'string') {{
      let sdp = desc.sdp;
      const ports = [...new Set([...sdp.matchAll(/ 127\.0\.0\.1 (\d+) typ host/g)].map((m) => m[1]))];
      for (const p of ports) {{
        const r = (await (await fetch(`${{ctrl}}/map?port=${{p}}`)).text()).trim();
        sdp = sdp.split(` 127.0.0.1 ${{p}} typ host`).join(` 127.0.0.1 ${{r}} typ host`);
      }}
      window.courtroomRelayed = (window.courtroomRelayed || 0) + ports.length;
      desc = {{ type: desc.type, sdp }};
    }}
    return original.call(this, desc, ...rest);
  }};
  // The server must not learn the browser's own addresses, or it would reach it directly;
  // it finds the browser through the relay instead (a peer-reflexive candidate).
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {{
    if (typeof data === 'string' && data.includes('"offer"')) {{
      try {{
        const m = JSON.parse(data);
        if (m.type === 'offer' && typeof m.sdp === 'string') {{
          m.sdp = m.sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:')).join('\r\n');
          data = JSON.stringify(m);
        }}
      }} catch (e) {{ /* not ours */ }}
    }}
    return send.call(this, data);
  }};
}})();"#,
            port = self.ctrl_port
        )
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A packet waiting for its time.
struct Departure {
    due: Instant,
    /// Arrival order, so packets due at the same moment leave in the order they came.
    order: u64,
    packet: Vec<u8>,
    to: SocketAddr,
}

impl PartialEq for Departure {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Departure {}
impl PartialOrd for Departure {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Departure {
    /// Reversed: the earliest is the greatest, for a max-heap.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due, other.order).cmp(&(self.due, self.order))
    }
}

/// Sends each packet given to it at its due time, in due order (a packet overtakes another
/// only when its jitter says so).
fn departures(socket: Arc<UdpSocket>, counts: Arc<Counts>) -> mpsc::UnboundedSender<Departure> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Departure>();
    tokio::spawn(async move {
        let mut waiting = BinaryHeap::new();
        loop {
            let next = waiting.peek().map(|d: &Departure| d.due);
            tokio::select! {
                got = rx.recv() => match got {
                    Some(d) => waiting.push(d),
                    None => return,
                },
                () = async { tokio::time::sleep_until(next.unwrap()).await }, if next.is_some() => {
                    let now = Instant::now();
                    while waiting.peek().is_some_and(|d| d.due <= now) {
                        let d = waiting.pop().expect("peeked");
                        if socket.send_to(&d.packet, d.to).await.is_ok() {
                            counts.forwarded.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    });
    tx
}

/// Opens a relay port forwarding to the server's `127.0.0.1:server_port`; returns it.
async fn forward(
    server_port: u16,
    link: Arc<Mutex<Link>>,
    up: Arc<Counts>,
    down: Arc<Counts>,
) -> u16 {
    let outer = Arc::new(
        UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind relay port"),
    );
    let inner = Arc::new(
        UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind relay port"),
    );
    let server: SocketAddr = ([127, 0, 0, 1], server_port).into();
    let port = outer.local_addr().unwrap().port();
    let browser: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
    let to_server = departures(inner.clone(), up.clone());
    let to_browser = departures(outer.clone(), down.clone());
    {
        let (outer, link, browser) = (outer.clone(), link.clone(), browser.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, from)) = outer.recv_from(&mut buf).await {
                *browser.lock().unwrap() = Some(from);
                pass(
                    &link,
                    Direction::Up,
                    &up,
                    buf[..n].to_vec(),
                    server,
                    &to_server,
                );
            }
        });
    }
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        while let Ok((n, _)) = inner.recv_from(&mut buf).await {
            let Some(to) = *browser.lock().unwrap() else {
                continue;
            };
            pass(
                &link,
                Direction::Down,
                &down,
                buf[..n].to_vec(),
                to,
                &to_browser,
            );
        }
    });
    port
}

/// Queues `packet` for `to` as the link's shape in `dir` says: maybe not at all, maybe after
/// a queue, always after the delay.
fn pass(
    link: &Mutex<Link>,
    dir: Direction,
    counts: &Counts,
    packet: Vec<u8>,
    to: SocketAddr,
    out: &mpsc::UnboundedSender<Departure>,
) {
    static ORDER: AtomicU64 = AtomicU64::new(0);
    let now = Instant::now();
    let mut link = link.lock().unwrap();
    let shape = if dir == Direction::Up {
        link.up
    } else {
        link.down
    };
    let mut rng = rand::thread_rng();
    if shape.loss > 0.0 && rng.gen::<f64>() < shape.loss {
        counts.lost.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let free_at = if dir == Direction::Up {
        &mut link.up_free_at
    } else {
        &mut link.down_free_at
    };
    let depart = match shape.rate_bps {
        Some(rate) => {
            let start = free_at.filter(|t| *t > now).unwrap_or(now);
            if start - now > QUEUE_LIMIT {
                counts.queue_drops.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let wire = Duration::from_secs_f64((packet.len() as f64 + 28.0) * 8.0 / rate as f64);
            *free_at = Some(start + wire);
            start + wire
        }
        None => now,
    };
    let jitter = shape.jitter.as_secs_f64();
    let spread = if jitter > 0.0 {
        rng.gen_range(-jitter..=jitter)
    } else {
        0.0
    };
    let delay = (shape.delay.as_secs_f64() + spread).max(0.0);
    let _ = out.send(Departure {
        due: depart + Duration::from_secs_f64(delay),
        order: ORDER.fetch_add(1, Ordering::Relaxed),
        packet,
        to,
    });
}
