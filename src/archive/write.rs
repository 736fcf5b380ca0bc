//! A zip bundle written as a stream: files are read in chunks and sent as they are read, so a
//! bundle of hours of video is never held in memory. [`stream`] sends it down a channel (an
//! HTTP body); [`write_to`] writes it to any `Write` (a file, for `courtroom export`).
//!
//! Entries are stored (not deflated: the video is already compressed), with the CRC-32 and
//! sizes in a data descriptor after each file (general-purpose flag bit 3), and ZIP64 records
//! throughout, so files and bundles over 4 GiB work. This is APPNOTE 6.3 §4.3.9 and §4.5.3.

use std::io::{Read, Write};
use std::path::PathBuf;

use bytes::{BufMut, Bytes, BytesMut};
use futures::channel::mpsc;
use futures::SinkExt;
use tokio::io::AsyncReadExt;

/// One file to put in the bundle.
#[derive(Debug, Clone)]
pub struct ZipEntry {
    /// Name inside the bundle (may contain `/` for folders).
    pub name: String,
    /// Where its bytes come from.
    pub source: Source,
}

/// Where an entry's bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file, read in chunks as the bundle is written.
    File(PathBuf),
    /// Bytes made for the bundle (a note, a key).
    Bytes(Bytes),
}

impl ZipEntry {
    /// The file at `path`, named `name` in the bundle.
    pub fn file(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            source: Source::File(path.into()),
        }
    }

    /// `bytes`, named `name` in the bundle.
    pub fn bytes(name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self {
            name: name.into(),
            source: Source::Bytes(bytes.into()),
        }
    }
}

const CHUNK: usize = 256 * 1024;
const VERSION: u16 = 45; // ZIP64
const FLAGS: u16 = 0x0008 | 0x0800; // data descriptor, UTF-8 names

struct Written {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
}

/// Starts writing the bundle; returns the stream of its bytes. A file that cannot be read ends
/// the stream with an error (the client sees a truncated download, never a wrong file).
pub fn stream(entries: Vec<ZipEntry>) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let (mut tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        if let Err(e) = write(entries, &mut tx).await {
            tracing::warn!("zip bundle stopped: {e}");
            let _ = tx.send(Err(e)).await;
        }
    });
    rx
}

async fn write(
    entries: Vec<ZipEntry>,
    tx: &mut mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> std::io::Result<()> {
    let gone = |_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away");
    let mut offset = 0u64;
    let mut written = Vec::with_capacity(entries.len());
    for entry in entries {
        // A file that cannot be opened ends the stream before its header is sent.
        let mut file = match &entry.source {
            Source::File(path) => Some(tokio::fs::File::open(path).await?),
            Source::Bytes(_) => None,
        };
        let header = local_header(&entry.name);
        let start = offset;
        offset += header.len() as u64;
        tx.send(Ok(header)).await.map_err(gone)?;
        let mut crc = crc32fast::Hasher::new();
        let mut size = 0u64;
        match (&entry.source, file.as_mut()) {
            (Source::File(_), Some(file)) => loop {
                let mut buf = BytesMut::with_capacity(CHUNK);
                let n = file.read_buf(&mut buf).await?;
                if n == 0 {
                    break;
                }
                crc.update(&buf);
                size += n as u64;
                tx.send(Ok(buf.freeze())).await.map_err(gone)?;
            },
            (Source::Bytes(bytes), _) => {
                crc.update(bytes);
                size = bytes.len() as u64;
                tx.send(Ok(bytes.clone())).await.map_err(gone)?;
            }
            (Source::File(_), None) => unreachable!("opened above"),
        }
        offset += size;
        let crc = crc.finalize();
        let d = descriptor(crc, size);
        offset += d.len() as u64;
        tx.send(Ok(d)).await.map_err(gone)?;
        written.push(Written {
            name: entry.name,
            crc,
            size,
            offset: start,
        });
    }
    tx.send(Ok(central_directory(&written, offset)))
        .await
        .map_err(gone)?;
    Ok(())
}

/// Writes the bundle of `entries` to `out`, files read in chunks; returns its size in bytes.
/// The same bytes as [`stream`] sends.
pub fn write_to(entries: &[ZipEntry], out: &mut impl Write) -> std::io::Result<u64> {
    let mut offset = 0u64;
    let mut written = Vec::with_capacity(entries.len());
    let mut buf = vec![0u8; CHUNK];
    for entry in entries {
        let header = local_header(&entry.name);
        let start = offset;
        out.write_all(&header)?;
        offset += header.len() as u64;
        let mut crc = crc32fast::Hasher::new();
        let mut size = 0u64;
        match &entry.source {
            Source::File(path) => {
                let mut file = std::fs::File::open(path)?;
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    crc.update(&buf[..n]);
                    out.write_all(&buf[..n])?;
                    size += n as u64;
                }
            }
            Source::Bytes(bytes) => {
                crc.update(bytes);
                out.write_all(bytes)?;
                size = bytes.len() as u64;
            }
        }
        offset += size;
        let crc = crc.finalize();
        let d = descriptor(crc, size);
        out.write_all(&d)?;
        offset += d.len() as u64;
        written.push(Written {
            name: entry.name.clone(),
            crc,
            size,
            offset: start,
        });
    }
    let cd = central_directory(&written, offset);
    out.write_all(&cd)?;
    out.flush()?;
    Ok(offset + cd.len() as u64)
}

/// The data descriptor after an entry: its CRC-32 and sizes (ZIP64).
fn descriptor(crc: u32, size: u64) -> Bytes {
    let mut d = BytesMut::with_capacity(24);
    d.put_u32_le(0x0807_4b50);
    d.put_u32_le(crc);
    d.put_u64_le(size);
    d.put_u64_le(size);
    d.freeze()
}

fn local_header(name: &str) -> Bytes {
    let mut h = BytesMut::with_capacity(30 + name.len() + 20);
    h.put_u32_le(0x0403_4b50);
    h.put_u16_le(VERSION);
    h.put_u16_le(FLAGS);
    h.put_u16_le(0); // stored
    h.put_u16_le(0); // time
    h.put_u16_le(0x21); // date: 1980-01-01
    h.put_u32_le(0); // crc: in the descriptor
    h.put_u32_le(0xFFFF_FFFF); // sizes: in the ZIP64 extra and the descriptor
    h.put_u32_le(0xFFFF_FFFF);
    h.put_u16_le(name.len() as u16);
    h.put_u16_le(20);
    h.put_slice(name.as_bytes());
    h.put_u16_le(0x0001); // ZIP64 extra
    h.put_u16_le(16);
    h.put_u64_le(0);
    h.put_u64_le(0);
    h.freeze()
}

fn central_directory(files: &[Written], cd_offset: u64) -> Bytes {
    let mut c = BytesMut::new();
    for f in files {
        c.put_u32_le(0x0201_4b50);
        c.put_u16_le(VERSION | (3 << 8)); // made by: Unix
        c.put_u16_le(VERSION);
        c.put_u16_le(FLAGS);
        c.put_u16_le(0);
        c.put_u16_le(0);
        c.put_u16_le(0x21);
        c.put_u32_le(f.crc);
        c.put_u32_le(0xFFFF_FFFF);
        c.put_u32_le(0xFFFF_FFFF);
        c.put_u16_le(f.name.len() as u16);
        c.put_u16_le(28); // extra
        c.put_u16_le(0); // comment
        c.put_u16_le(0); // disk
        c.put_u16_le(0); // internal attributes
        c.put_u32_le(0o100644 << 16); // external: regular file, rw-r--r--
        c.put_u32_le(0xFFFF_FFFF); // offset: in the extra
        c.put_slice(f.name.as_bytes());
        c.put_u16_le(0x0001);
        c.put_u16_le(24);
        c.put_u64_le(f.size);
        c.put_u64_le(f.size);
        c.put_u64_le(f.offset);
    }
    let cd_size = c.len() as u64;
    let eocd64 = cd_offset + cd_size;
    let n = files.len() as u64;
    c.put_u32_le(0x0606_4b50);
    c.put_u64_le(44);
    c.put_u16_le(VERSION | (3 << 8));
    c.put_u16_le(VERSION);
    c.put_u32_le(0);
    c.put_u32_le(0);
    c.put_u64_le(n);
    c.put_u64_le(n);
    c.put_u64_le(cd_size);
    c.put_u64_le(cd_offset);
    c.put_u32_le(0x0706_4b50);
    c.put_u32_le(0);
    c.put_u64_le(eocd64);
    c.put_u32_le(1);
    c.put_u32_le(0x0605_4b50);
    c.put_u16_le(0);
    c.put_u16_le(0);
    c.put_u16_le(n.min(0xFFFF) as u16);
    c.put_u16_le(n.min(0xFFFF) as u16);
    c.put_u32_le(0xFFFF_FFFF);
    c.put_u32_le(0xFFFF_FFFF);
    c.put_u16_le(0);
    c.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn bundle_unpacks_with_python_zipfile_and_crcs_check() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.bin");
        let big: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&a, &big).unwrap();
        let b = dir.path().join("manifest.json");
        std::fs::write(&b, b"{\"v\":1}").unwrap();
        let entries = vec![
            ZipEntry::file("rec/composite.mp4", a),
            ZipEntry::file("rec/manifest.json", b),
        ];
        let mut rx = stream(entries.clone());
        let mut zip = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = rx.next().await {
            zip.extend_from_slice(&chunk.unwrap());
            chunks += 1;
        }
        assert!(chunks > 4, "streamed in pieces, not one buffer");
        let mut same = Vec::new();
        let n = write_to(&entries, &mut same).unwrap();
        assert_eq!(
            (n as usize, &same),
            (zip.len(), &zip),
            "write_to writes the same bytes"
        );
        let out = dir.path().join("b.zip");
        std::fs::write(&out, &zip).unwrap();
        // An independent reader: Python's zipfile checks every CRC in testzip().
        let check = std::process::Command::new("python3")
            .arg("-c")
            .arg(
                "import sys,zipfile,hashlib\n\
                 z=zipfile.ZipFile(sys.argv[1])\n\
                 assert z.testzip() is None\n\
                 for i in z.infolist(): print(i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest())",
            )
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let listing = String::from_utf8(check.stdout).unwrap();
        let sha = |b: &[u8]| -> String {
            use sha2::Digest;
            sha2::Sha256::digest(b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect()
        };
        assert_eq!(
            listing,
            format!(
                "rec/composite.mp4 700000 {}\nrec/manifest.json 7 {}\n",
                sha(&big),
                sha(b"{\"v\":1}")
            )
        );
    }

    #[tokio::test]
    async fn a_missing_file_ends_the_stream_with_an_error() {
        let mut rx = stream(vec![ZipEntry::file("x", "/nonexistent/courtroom/x")]);
        let first = rx.next().await.unwrap();
        assert!(first.is_err());
    }
}
