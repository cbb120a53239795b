//! The Lambda zip, written so that the same `bootstrap` always gives the same bytes.
//!
//! For a file archive that is already a `.zip`, the engine's hash is the zip's raw bytes
//! (pulumi/pulumi `sdk/go/common/resource/archive/archive.go`, `EnsureHashWithWD`), and a new hash
//! is a new deployment of the function. `cargo lambda build --output-format zip` stores the
//! binary's modification time, so any relink (another machine, CI, `cargo clean`) changed the
//! hash. Here every field that is not the binary itself is fixed: one entry `bootstrap`, the DOS
//! epoch (1980-01-01 00:00) as its time, mode 0755, deflate at one level, no extra fields.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The executable Lambda's `provided.al2023` runtime starts.
pub const ENTRY: &str = "bootstrap";

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub bytes: usize,
    /// Hex SHA-256 of the zip: the hash the engine computes for the archive.
    pub sha256: String,
}

/// The zip of `binary` as [`ENTRY`].
pub fn zip_bytes(binary: &[u8]) -> anyhow::Result<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755);
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(binary.len() / 2)));
    zip.start_file(ENTRY, options)?;
    zip.write_all(binary)?;
    Ok(zip.finish()?.into_inner())
}

/// The ELF machine (`e_machine`) of the `bootstrap` in the zip at `path`, or what is wrong with it
/// as a Lambda artifact.
pub fn bootstrap_machine(path: &Path) -> Result<u16, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("it cannot be read ({e})"))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| format!("it is not a zip archive ({e})"))?;
    let mut entry = archive
        .by_name(ENTRY)
        .map_err(|_| format!("it has no `{ENTRY}` entry, which Lambda runs"))?;
    let mut header = [0u8; 20];
    entry
        .read_exact(&mut header)
        .ok()
        .filter(|()| header.starts_with(b"\x7fELF"))
        .ok_or_else(|| format!("its `{ENTRY}` is not a Linux executable"))?;
    Ok(u16::from_le_bytes([header[18], header[19]]))
}

/// Writes the zip of the file `binary` to `zip`, replacing it whole: concurrent `pulumi` runs (or
/// tests) that write the same bytes never expose a half-written file to the engine's hash.
pub fn write(binary: &Path, zip: &Path) -> anyhow::Result<Bundle> {
    let executable =
        std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let bytes = zip_bytes(&executable)?;
    let partial = zip.with_extension(format!("zip.{}.partial", std::process::id()));
    std::fs::write(&partial, &bytes).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, zip).with_context(|| format!("writing {}", zip.display()))?;
    Ok(Bundle {
        bytes: bytes.len(),
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn binary() -> Vec<u8> {
        (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn the_same_binary_gives_the_same_bytes() {
        assert_eq!(zip_bytes(&binary()).unwrap(), zip_bytes(&binary()).unwrap());
    }

    #[test]
    fn the_entry_is_an_executable_bootstrap_dated_at_the_dos_epoch() {
        let bytes = zip_bytes(&binary()).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), ENTRY);
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(entry.last_modified(), Some(DateTime::default()));
        assert!(entry.extra_data().as_deref().is_none_or(<[u8]>::is_empty));
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(content, binary());
    }

    #[test]
    fn the_machine_of_the_bootstrap_is_read_from_its_elf_header() {
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[18..20].copy_from_slice(&183u16.to_le_bytes());
        let dir = std::env::temp_dir().join(format!("bundle-elf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let zip = dir.join("bootstrap.zip");
        std::fs::write(&zip, zip_bytes(&elf).unwrap()).unwrap();
        assert_eq!(bootstrap_machine(&zip), Ok(183));
        std::fs::write(&zip, zip_bytes(b"#!/bin/sh").unwrap()).unwrap();
        assert_eq!(
            bootstrap_machine(&zip),
            Err("its `bootstrap` is not a Linux executable".into())
        );
        std::fs::write(&zip, b"not a zip").unwrap();
        assert!(
            bootstrap_machine(&zip)
                .unwrap_err()
                .starts_with("it is not a zip archive")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_file_times_of_the_binary_do_not_reach_the_zip() {
        let dir = std::env::temp_dir().join(format!("bundle-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let binary_path = dir.join("bootstrap");
        std::fs::write(&binary_path, binary()).unwrap();
        let first = write(&binary_path, &dir.join("a.zip")).unwrap();
        // A relink: same bytes, a new file with a new modification time.
        std::fs::remove_file(&binary_path).unwrap();
        std::fs::write(&binary_path, binary()).unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        std::fs::File::options()
            .write(true)
            .open(&binary_path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let second = write(&binary_path, &dir.join("b.zip")).unwrap();
        assert_eq!(first, second);
        assert_eq!(
            std::fs::read(dir.join("a.zip")).unwrap(),
            std::fs::read(dir.join("b.zip")).unwrap()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
