//! Unpacking a zip someone handed us, safely, into a folder of our own.
//!
//! The archive is read with the `zip` crate (reading only; our own bundles are written by
//! [`super::write`]). Every entry is checked before anything is written: its name must be a
//! relative path of plain parts (no leading `/` or drive letter, no `..`, no `\`, no NUL, no
//! empty or `.` part), it must be a regular file or a folder (a symbolic link or any other
//! kind is refused), not encrypted, no name may repeat, and it must fit the [`Limits`] (the
//! declared size, and the bytes actually read, so a deflate bomb stops at the limit). Any of
//! these refuses the whole archive with a [`ArchiveError`] that names the entry.
//!
//! A stored entry (as our writer makes them) is copied as it lies and its CRC-32 compared by
//! us: a mismatch is not fatal but listed in [`Unpacked::crc_mismatches`], so that the caller
//! can still say what the changed file fails (a segment's SHA-256, say). A compressed entry's
//! CRC-32 is checked by the crate, and a mismatch refuses the archive.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::ArchiveError;

/// How much an archive may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes in one entry.
    pub max_entry: u64,
    /// Bytes in all entries together.
    pub max_total: u64,
    /// Entries.
    pub max_entries: usize,
}

impl Default for Limits {
    /// 16 GiB an entry, 256 GiB in all, 100 000 entries: a day of hearing with its originals.
    fn default() -> Self {
        Self {
            max_entry: 16 << 30,
            max_total: 256 << 30,
            max_entries: 100_000,
        }
    }
}

/// What [`unpack`] wrote.
#[derive(Debug, Clone, Default)]
pub struct Unpacked {
    /// Files written, by their name in the archive.
    pub files: Vec<String>,
    /// Stored entries whose bytes do not match the CRC-32 the archive records for them.
    pub crc_mismatches: Vec<String>,
}

/// Checks `name` (an entry's name) and returns it as a relative path of plain parts.
pub fn safe_entry_path(name: &str) -> Result<PathBuf, String> {
    if name.is_empty() {
        return Err("an empty name".into());
    }
    if name.starts_with('/') {
        return Err("an absolute path".into());
    }
    if name.contains('\\') || name.contains('\0') {
        return Err("a backslash or NUL in the name".into());
    }
    if name.len() >= 2 && name.as_bytes()[1] == b':' {
        return Err("a drive letter".into());
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    let mut path = PathBuf::new();
    for part in trimmed.split('/') {
        match part {
            ".." => return Err("a `..` part (it would leave the folder)".into()),
            "" | "." => return Err("an empty or `.` part".into()),
            p => path.push(p),
        }
    }
    Ok(path)
}

/// Unpacks the zip at `zip_path` into the existing, empty folder `dest`, refusing any entry
/// that is not safe (module docs).
pub fn unpack(zip_path: &Path, dest: &Path, limits: &Limits) -> Result<Unpacked, ArchiveError> {
    let file = std::fs::File::open(zip_path).map_err(ArchiveError::Io)?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(ArchiveError::TooLarge(format!(
            "{} entries, at most {} are unpacked",
            archive.len(),
            limits.max_entries
        )));
    }
    // Check every entry's name and kind before writing anything.
    let mut seen = std::collections::HashSet::new();
    let mut declared = 0u64;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| ArchiveError::Malformed(e.to_string()))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let refuse = |why: String| ArchiveError::Unsafe {
            entry: name.clone(),
            why,
        };
        let path = safe_entry_path(&name).map_err(&refuse)?;
        if !seen.insert(path.clone()) {
            return Err(refuse("the name appears twice".into()));
        }
        if let Some(mode) = entry.unix_mode() {
            match mode & 0o170_000 {
                0 | 0o100_000 | 0o040_000 => {}
                0o120_000 => return Err(refuse("a symbolic link".into())),
                _ => return Err(refuse("not a regular file or folder".into())),
            }
        }
        if entry.encrypted() {
            return Err(refuse("encrypted".into()));
        }
        if entry.size() > limits.max_entry {
            return Err(ArchiveError::TooLarge(format!(
                "entry {name}: {} bytes, at most {} are unpacked",
                entry.size(),
                limits.max_entry
            )));
        }
        declared = declared.saturating_add(entry.size());
        if declared > limits.max_total {
            return Err(ArchiveError::TooLarge(format!(
                "more than {} bytes in all",
                limits.max_total
            )));
        }
    }
    let mut out = Unpacked::default();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let stored = archive
            .by_index_raw(i)
            .map_err(|e| ArchiveError::Malformed(e.to_string()))?
            .compression()
            == zip::CompressionMethod::Stored;
        let mut entry = if stored {
            archive.by_index_raw(i)
        } else {
            archive.by_index(i)
        }
        .map_err(|e| ArchiveError::Malformed(e.to_string()))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let path = dest.join(safe_entry_path(&name).map_err(|why| ArchiveError::Unsafe {
            entry: name.clone(),
            why,
        })?);
        if entry.is_dir() {
            std::fs::create_dir_all(&path).map_err(ArchiveError::Io)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(ArchiveError::Io)?;
        }
        let expected_crc = entry.crc32();
        let budget = limits.max_entry.min(limits.max_total - total);
        let mut target = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(ArchiveError::Io)?;
        let (size, crc) = copy_limited(&mut entry, &mut target, budget)
            .map_err(|e| ArchiveError::Malformed(format!("entry {name}: {e}")))?;
        if size > budget {
            return Err(ArchiveError::TooLarge(format!(
                "entry {name} unpacks to more than {budget} bytes"
            )));
        }
        total += size;
        if stored && (crc != expected_crc || size != entry.size()) {
            out.crc_mismatches.push(name.clone());
        }
        out.files.push(name);
    }
    Ok(out)
}

/// Copies at most `limit + 1` bytes from `from` to `to`; returns how many and their CRC-32.
fn copy_limited(
    from: &mut impl Read,
    to: &mut impl Write,
    limit: u64,
) -> std::io::Result<(u64, u32)> {
    let mut crc = crc32fast::Hasher::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    let mut from = from.take(limit.saturating_add(1));
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        to.write_all(&buf[..n])?;
        size += n as u64;
    }
    to.flush()?;
    Ok((size, crc.finalize()))
}

#[cfg(test)]
mod tests {
    use super::super::write::{write_to, ZipEntry};
    use super::*;

    fn zip_of(entries: &[ZipEntry]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.zip");
        let mut f = std::fs::File::create(&path).unwrap();
        write_to(entries, &mut f).unwrap();
        (dir, path)
    }

    #[test]
    fn names_must_be_plain_relative_paths() {
        for ok in ["a", "rec/composite-00000.mp4", "dir/"] {
            assert!(safe_entry_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/..",
            "a//b",
            "./a",
            "C:/x",
            "a\\b",
            "a\0",
        ] {
            assert!(safe_entry_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn our_bundle_unpacks_and_a_changed_byte_is_a_crc_mismatch() {
        let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let (dir, path) = zip_of(&[
            ZipEntry::bytes("p/rec/a.bin", big.clone()),
            ZipEntry::bytes("p/VERIFY.txt", &b"read me"[..]),
        ]);
        let out = tempfile::tempdir().unwrap();
        let got = unpack(&path, out.path(), &Limits::default()).unwrap();
        assert_eq!(got.files, ["p/rec/a.bin", "p/VERIFY.txt"]);
        assert!(got.crc_mismatches.is_empty());
        assert_eq!(std::fs::read(out.path().join("p/rec/a.bin")).unwrap(), big);

        let mut bytes = std::fs::read(&path).unwrap();
        bytes[1000] ^= 0x40; // inside a.bin's data
        let tampered = dir.path().join("t.zip");
        std::fs::write(&tampered, &bytes).unwrap();
        let out = tempfile::tempdir().unwrap();
        let got = unpack(&tampered, out.path(), &Limits::default()).unwrap();
        assert_eq!(got.crc_mismatches, ["p/rec/a.bin"]);

        let small = Limits {
            max_entry: 1000,
            ..Limits::default()
        };
        let out = tempfile::tempdir().unwrap();
        let err = unpack(&path, out.path(), &small).unwrap_err();
        assert!(matches!(err, ArchiveError::TooLarge(_)), "{err}");
        assert!(
            std::fs::read_dir(out.path()).unwrap().next().is_none(),
            "nothing written"
        );
    }

    #[test]
    fn unsafe_and_malformed_archives_are_refused_before_anything_is_written() {
        for evil in ["../evil.txt", "/tmp/evil.txt", "p/../../evil.txt"] {
            let (_d, path) = zip_of(&[
                ZipEntry::bytes("p/ok.txt", &b"fine"[..]),
                ZipEntry::bytes(evil, &b"evil"[..]),
            ]);
            let out = tempfile::tempdir().unwrap();
            let err = unpack(&path, out.path(), &Limits::default()).unwrap_err();
            assert!(
                matches!(&err, ArchiveError::Unsafe { entry, .. } if entry == evil),
                "{evil}: {err}"
            );
            assert!(err.to_string().contains(evil), "{err}");
            assert!(std::fs::read_dir(out.path()).unwrap().next().is_none());
        }
        let (d, _) = zip_of(&[]);
        let junk = d.path().join("junk.zip");
        std::fs::write(&junk, b"PK\x03\x04 this is not a zip").unwrap();
        let err = unpack(&junk, d.path(), &Limits::default()).unwrap_err();
        assert!(matches!(err, ArchiveError::Malformed(_)), "{err}");
    }

    #[test]
    fn a_symbolic_link_is_refused() {
        // A zip with one symlink entry, made by Python's zipfile (mode 0o120777).
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("link.zip");
        let made = std::process::Command::new("python3")
            .arg("-c")
            .arg(
                "import sys,zipfile\n\
                 z=zipfile.ZipFile(sys.argv[1],'w')\n\
                 i=zipfile.ZipInfo('p/passwd'); i.external_attr=(0o120777<<16)\n\
                 z.writestr(i,'/etc/passwd'); z.close()",
            )
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let out = tempfile::tempdir().unwrap();
        let err = unpack(&path, out.path(), &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}
