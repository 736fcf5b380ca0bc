//! Exhibits: the documents and pictures a party, the clerk or a judge shows in the courtroom.
//! A file is taken as it was given (PNG, JPEG or PDF) within limits of size, pixels and pages,
//! and one page of it is read as packed RGB for the evidence display
//! (`crate::render::exhibit` draws it). PDF pages are rendered by poppler's `pdftoppm`, in a
//! child process with a memory and time limit, so a hostile PDF can at most fail; the child
//! runs at a lower priority than the hearings, and only [`gate::MOST_AT_ONCE`] at once on a
//! node.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The largest exhibit file taken (25 MiB).
pub const MAX_EXHIBIT_BYTES: usize = 25 * 1024 * 1024;
/// The most pages a PDF exhibit may have.
pub const MAX_PAGES: u32 = 500;
/// The most pixels a picture (or a rendered page) may have: a PNG or JPEG header states its
/// size before any pixel, so a few hundred bytes could otherwise ask for gigabytes.
pub const MAX_PIXELS: u64 = 40_000_000;
/// A PDF page is rendered with its longer side this many pixels: an A4 page is then wider than
/// the display (1,697 pixels), so its width can fill it.
pub const PDF_PAGE_PIXELS: u32 = 2400;
/// How much CPU time poppler may take for one page (or for reading the page count): past it
/// the kernel stops it, and the file is refused as one that cannot be read.
const PDF_TIME_LIMIT: Duration = Duration::from_secs(20);
/// How long poppler may take by the clock. Longer than [`PDF_TIME_LIMIT`]: it runs below the
/// hearings' priority, so on a loaded node a page that needs a few seconds of CPU can take
/// many more by the clock, and that is the node's doing, not the file's ([`ExhibitError::Busy`]).
const PDF_WALL_LIMIT: Duration = Duration::from_secs(60);
/// The longest one exhibit request (an upload, a witness's file or a page turn, each of which
/// runs poppler at most once) can take on a loaded node before it is answered, at the latest
/// as [`ExhibitError::Busy`]: its wait for a renderer ([`gate::LONGEST_WAIT`]) and then the
/// renderer's clock deadline.
pub const LONGEST_RENDER: Duration =
    Duration::from_secs(gate::LONGEST_WAIT.as_secs() + PDF_WALL_LIMIT.as_secs());
/// How much memory poppler may map.
const PDF_MEMORY_LIMIT: u64 = 1 << 30;

/// What an exhibit file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExhibitKind {
    /// `image/png`.
    Png,
    /// `image/jpeg`.
    Jpeg,
    /// `application/pdf`.
    Pdf,
}

impl ExhibitKind {
    /// The kind a `Content-Type` names (parameters ignored), if one we take.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
        match essence.as_str() {
            "image/png" => Some(Self::Png),
            "image/jpeg" | "image/jpg" => Some(Self::Jpeg),
            "application/pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    /// Its MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Pdf => "application/pdf",
        }
    }

    /// Its file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Pdf => "pdf",
        }
    }

    /// Whether `bytes` start as a file of this kind does.
    fn has_magic(self, bytes: &[u8]) -> bool {
        match self {
            Self::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            Self::Jpeg => bytes.starts_with(&[0xff, 0xd8, 0xff]),
            Self::Pdf => bytes.starts_with(b"%PDF-"),
        }
    }
}

/// Why an exhibit was refused or a page could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExhibitError {
    /// Bigger than [`MAX_EXHIBIT_BYTES`], or more pixels than [`MAX_PIXELS`].
    #[error("the exhibit is too large: {0}")]
    TooLarge(String),
    /// The file is not what it says, or is damaged.
    #[error("the exhibit cannot be read: {0}")]
    Malformed(String),
    /// A PDF with more than [`MAX_PAGES`] pages.
    #[error("the PDF has {0} pages; at most {MAX_PAGES} are taken")]
    TooManyPages(u32),
    /// A page that the exhibit does not have.
    #[error("the exhibit has {pages} page(s); there is no page {page}")]
    NoSuchPage {
        /// The page asked for, from 1.
        page: u32,
        /// How many it has.
        pages: u32,
    },
    /// The PDF renderer could not be run.
    #[error("the PDF renderer failed: {0}")]
    Renderer(String),
    /// Other PDFs took every renderer for [`gate::LONGEST_WAIT`], or the node was too loaded
    /// for poppler to finish within its time by the clock.
    #[error("the server is too busy to render the exhibit now; try again in a moment")]
    Busy,
}

/// One page of an exhibit as packed RGB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// RGB rows, top first.
    pub rgb: Vec<u8>,
}

/// Checks an exhibit file given as `bytes` of `kind`, stored at `path` (poppler reads PDFs
/// from there), and returns how many pages it has.
pub fn inspect(bytes: &[u8], kind: ExhibitKind, path: &Path) -> Result<u32, ExhibitError> {
    if bytes.len() > MAX_EXHIBIT_BYTES {
        return Err(ExhibitError::TooLarge(format!(
            "{} bytes; at most {MAX_EXHIBIT_BYTES}",
            bytes.len()
        )));
    }
    if !kind.has_magic(bytes) {
        return Err(ExhibitError::Malformed(format!(
            "the file does not start as a {} file does",
            kind.content_type()
        )));
    }
    match kind {
        ExhibitKind::Png | ExhibitKind::Jpeg => {
            decode_picture(bytes, kind)?;
            Ok(1)
        }
        ExhibitKind::Pdf => {
            let pages = pdf_pages(path)?;
            if pages == 0 {
                return Err(ExhibitError::Malformed("the PDF has no pages".into()));
            }
            if pages > MAX_PAGES {
                return Err(ExhibitError::TooManyPages(pages));
            }
            Ok(pages)
        }
    }
}

/// Page `page` (from 1) of the exhibit at `path`, of `kind`, with `pages` pages.
pub fn read_page(
    path: &Path,
    kind: ExhibitKind,
    page: u32,
    pages: u32,
) -> Result<Page, ExhibitError> {
    if page == 0 || page > pages {
        return Err(ExhibitError::NoSuchPage { page, pages });
    }
    match kind {
        ExhibitKind::Png | ExhibitKind::Jpeg => {
            let bytes = std::fs::read(path).map_err(|e| ExhibitError::Malformed(e.to_string()))?;
            decode_picture(&bytes, kind)
        }
        ExhibitKind::Pdf => render_pdf_page(path, page),
    }
}

fn too_many_pixels(width: u32, height: u32) -> Option<ExhibitError> {
    (width as u64 * height as u64 > MAX_PIXELS).then(|| {
        ExhibitError::TooLarge(format!(
            "the picture claims {width}x{height} pixels; at most {MAX_PIXELS}"
        ))
    })
}

/// Decodes a PNG or JPEG as packed RGB, refusing one whose header claims more than
/// [`MAX_PIXELS`] before any pixel buffer is allocated.
fn decode_picture(bytes: &[u8], kind: ExhibitKind) -> Result<Page, ExhibitError> {
    let bad = |e: &dyn std::fmt::Display| ExhibitError::Malformed(e.to_string());
    match kind {
        ExhibitKind::Png => {
            let limits = png::Limits {
                bytes: (MAX_PIXELS * 8) as usize,
            };
            let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
            decoder
                .set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
            let mut reader = decoder.read_info().map_err(|e| bad(&e))?;
            let (w, h) = (reader.info().width, reader.info().height);
            if let Some(e) = too_many_pixels(w, h) {
                return Err(e);
            }
            let mut buf = vec![0; reader.output_buffer_size()];
            let info = reader.next_frame(&mut buf).map_err(|e| bad(&e))?;
            let data = &buf[..info.buffer_size()];
            let rgb: Vec<u8> = match info.color_type {
                png::ColorType::Rgb => data.to_vec(),
                png::ColorType::Rgba => data
                    .chunks_exact(4)
                    .flat_map(|p| [p[0], p[1], p[2]])
                    .collect(),
                png::ColorType::Grayscale => data.iter().flat_map(|&g| [g, g, g]).collect(),
                png::ColorType::GrayscaleAlpha => {
                    data.chunks_exact(2).flat_map(|p| [p[0]; 3]).collect()
                }
                other => return Err(bad(&format!("unsupported PNG colour type {other:?}"))),
            };
            page(info.width, info.height, rgb)
        }
        ExhibitKind::Jpeg => {
            let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
            decoder.read_info().map_err(|e| bad(&e))?;
            let info = decoder.info().ok_or_else(|| bad(&"no JPEG header"))?;
            let (w, h) = (info.width as u32, info.height as u32);
            if let Some(e) = too_many_pixels(w, h) {
                return Err(e);
            }
            let data = decoder.decode().map_err(|e| bad(&e))?;
            let rgb: Vec<u8> = match info.pixel_format {
                jpeg_decoder::PixelFormat::RGB24 => data,
                jpeg_decoder::PixelFormat::L8 => data.iter().flat_map(|&g| [g, g, g]).collect(),
                jpeg_decoder::PixelFormat::L16 => {
                    data.chunks_exact(2).flat_map(|p| [p[0]; 3]).collect()
                }
                jpeg_decoder::PixelFormat::CMYK32 => data
                    .chunks_exact(4)
                    .flat_map(|p| {
                        let k = 255 - p[3] as u32;
                        [p[0], p[1], p[2]].map(|c| ((255 - c as u32) * k / 255) as u8)
                    })
                    .collect(),
            };
            page(w, h, rgb)
        }
        ExhibitKind::Pdf => Err(bad(&"a PDF is not a picture")),
    }
}

fn page(width: u32, height: u32, rgb: Vec<u8>) -> Result<Page, ExhibitError> {
    if width == 0 || height == 0 || rgb.len() != (width * height * 3) as usize {
        return Err(ExhibitError::Malformed(
            "an empty or truncated picture".into(),
        ));
    }
    Ok(Page { width, height, rgb })
}

/// How much lower than the server's a poppler child's priority is (`nice`): a hearing's tick
/// comes first.
const PDF_NICENESS: u8 = 10;

/// The command that runs a poppler tool: at a lower priority, under the memory and time
/// limits.
fn poppler_command(tool: &str, args: &[&std::ffi::OsStr]) -> Command {
    let mut command = Command::new("nice");
    command
        .arg("-n")
        .arg(PDF_NICENESS.to_string())
        .arg("prlimit")
        .arg(format!("--as={PDF_MEMORY_LIMIT}"))
        .arg(format!("--cpu={}", PDF_TIME_LIMIT.as_secs()))
        .arg("--")
        .arg(tool)
        .args(args);
    command
}

/// Runs a poppler tool when the node's gate gives it a turn ([`gate::POPPLER`]), under
/// [`poppler_command`]'s limits, and returns its standard output.
fn poppler(tool: &str, args: &[&std::ffi::OsStr]) -> Result<Vec<u8>, ExhibitError> {
    let _turn = gate::POPPLER
        .enter(gate::LONGEST_WAIT)
        .ok_or(ExhibitError::Busy)?;
    let mut child = poppler_command(tool, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ExhibitError::Renderer(format!("cannot run {tool}: {e}")))?;
    let deadline = Instant::now() + PDF_WALL_LIMIT;
    // Both pipes are drained while it runs: a damaged PDF can print many warnings, and a full
    // pipe would block it.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                tracing::warn!(
                    tool,
                    "poppler stopped after {} s by the clock",
                    PDF_WALL_LIMIT.as_secs()
                );
                return Err(ExhibitError::Busy);
            }
            Err(e) => return Err(ExhibitError::Renderer(e.to_string())),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        return Err(refusal(tool, status, first));
    }
    Ok(stdout)
}

/// What a poppler run that ended with `status` (and `first`, its first line on standard
/// error) says: `nice` or `prlimit` could not start the tool (126, 127) is the node's fault;
/// a tool stopped by its CPU limit, or one that failed, was given a file it cannot read.
fn refusal(tool: &str, status: std::process::ExitStatus, first: &str) -> ExhibitError {
    use std::os::unix::process::ExitStatusExt;
    const SIGKILL: i32 = 9;
    const SIGXCPU: i32 = 24;
    match (status.code(), status.signal()) {
        (Some(126 | 127), _) => ExhibitError::Renderer(format!("cannot run {tool}: {first}")),
        (_, Some(SIGXCPU | SIGKILL)) => ExhibitError::Malformed(format!(
            "{tool} used more than {} s of CPU",
            PDF_TIME_LIMIT.as_secs()
        )),
        _ => ExhibitError::Malformed(format!("{tool}: {first}")),
    }
}

/// How many pages the PDF at `path` has (`pdfinfo`).
fn pdf_pages(path: &Path) -> Result<u32, ExhibitError> {
    let out = poppler("pdfinfo", &[path.as_os_str()])?;
    String::from_utf8_lossy(&out)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:")?.trim().parse().ok())
        .ok_or_else(|| ExhibitError::Malformed("pdfinfo gave no page count".into()))
}

/// Renders page `page` of the PDF at `path` with its longer side [`PDF_PAGE_PIXELS`]
/// (`pdftoppm`), as packed RGB.
fn render_pdf_page(path: &Path, page: u32) -> Result<Page, ExhibitError> {
    let dir = tempfile::Builder::new()
        .prefix("courtroom-exhibit-")
        .tempdir()
        .map_err(|e| ExhibitError::Renderer(e.to_string()))?;
    let root: PathBuf = dir.path().join("page");
    let n = page.to_string();
    let scale = PDF_PAGE_PIXELS.to_string();
    let args: Vec<&std::ffi::OsStr> = vec![
        "-f".as_ref(),
        n.as_ref(),
        "-l".as_ref(),
        n.as_ref(),
        "-scale-to".as_ref(),
        scale.as_ref(),
        "-png".as_ref(),
        "-singlefile".as_ref(),
        path.as_os_str(),
        root.as_os_str(),
    ];
    poppler("pdftoppm", &args)?;
    let png = std::fs::read(root.with_extension("png"))
        .map_err(|e| ExhibitError::Malformed(format!("pdftoppm wrote no page: {e}")))?;
    decode_picture(&png, ExhibitKind::Png)
}

pub mod gate;
pub mod testing;

#[cfg(test)]
mod tests;
