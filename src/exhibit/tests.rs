use super::testing::{checkerboard_png, coloured_pdf};
use super::*;

fn stored(bytes: &[u8], ext: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("exhibit.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

#[test]
fn content_types_name_the_three_kinds_and_nothing_else() {
    assert_eq!(
        ExhibitKind::from_content_type("image/png"),
        Some(ExhibitKind::Png)
    );
    assert_eq!(
        ExhibitKind::from_content_type("Application/PDF; charset=binary"),
        Some(ExhibitKind::Pdf)
    );
    assert_eq!(
        ExhibitKind::from_content_type("image/jpeg"),
        Some(ExhibitKind::Jpeg)
    );
    assert_eq!(ExhibitKind::from_content_type("image/svg+xml"), None);
    assert_eq!(ExhibitKind::from_content_type("text/html"), None);
}

#[test]
fn a_png_is_one_page_read_back_pixel_for_pixel() {
    let png = checkerboard_png(64, 32, 8, [255, 0, 0], [0, 0, 255]);
    let (_dir, path) = stored(&png, "png");
    assert_eq!(inspect(&png, ExhibitKind::Png, &path), Ok(1));
    let page = read_page(&path, ExhibitKind::Png, 1, 1).unwrap();
    assert_eq!((page.width, page.height), (64, 32));
    assert_eq!(&page.rgb[..3], &[255, 0, 0]);
    assert_eq!(&page.rgb[8 * 3..8 * 3 + 3], &[0, 0, 255]);
    assert_eq!(
        read_page(&path, ExhibitKind::Png, 2, 1),
        Err(ExhibitError::NoSuchPage { page: 2, pages: 1 })
    );
}

#[test]
fn a_jpeg_is_decoded_to_rgb() {
    let rgb: Vec<u8> = (0..32 * 16).flat_map(|_| [20u8, 200, 40]).collect();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 90)
        .encode(&rgb, 32, 16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let (_dir, path) = stored(&jpeg, "jpg");
    assert_eq!(inspect(&jpeg, ExhibitKind::Jpeg, &path), Ok(1));
    let page = read_page(&path, ExhibitKind::Jpeg, 1, 1).unwrap();
    assert_eq!((page.width, page.height), (32, 16));
    assert!(
        page.rgb[1] > 150 && page.rgb[0] < 80,
        "{:?}",
        &page.rgb[..3]
    );
}

/// A PNG of a few dozen bytes whose header claims 100000 × 100000 pixels is refused from its header.
#[test]
fn a_picture_that_claims_too_many_pixels_is_refused_before_decoding() {
    let png = super::testing::png_claiming(100_000, 100_000);
    assert!(png.len() < 100);
    let (_dir, path) = stored(&png, "png");
    match inspect(&png, ExhibitKind::Png, &path) {
        Err(ExhibitError::TooLarge(m)) => assert!(m.contains("100000x100000"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn junk_and_mislabelled_files_are_refused() {
    let (_dir, path) = stored(b"hello", "png");
    assert!(matches!(
        inspect(b"hello", ExhibitKind::Png, &path),
        Err(ExhibitError::Malformed(_))
    ));
    let png = checkerboard_png(8, 8, 4, [0; 3], [255; 3]);
    assert!(matches!(
        inspect(&png, ExhibitKind::Pdf, &path),
        Err(ExhibitError::Malformed(_))
    ));
    let mut truncated = png.clone();
    truncated.truncate(png.len() / 2);
    assert!(matches!(
        inspect(&truncated, ExhibitKind::Png, &path),
        Err(ExhibitError::Malformed(_))
    ));
    let big = vec![0u8; MAX_EXHIBIT_BYTES + 1];
    assert!(matches!(
        inspect(&big, ExhibitKind::Pdf, &path),
        Err(ExhibitError::TooLarge(_))
    ));
}

#[test]
fn a_pdf_is_counted_and_its_pages_rendered_by_poppler() {
    let pdf = coloured_pdf(&[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]);
    let (_dir, path) = stored(&pdf, "pdf");
    assert_eq!(inspect(&pdf, ExhibitKind::Pdf, &path), Ok(2));
    let page = read_page(&path, ExhibitKind::Pdf, 2, 2).unwrap();
    assert_eq!(
        page.height, PDF_PAGE_PIXELS,
        "A4 portrait: the height is the longer side"
    );
    assert!((page.width as f32 / page.height as f32 - 595.0 / 842.0).abs() < 0.01);
    let centre = ((page.height / 2 * page.width + page.width / 2) * 3) as usize;
    assert_eq!(
        &page.rgb[centre..centre + 3],
        &[0, 0, 255],
        "page 2 is blue"
    );
    assert_eq!(&page.rgb[..3], &[255, 255, 255], "the margin is white");
}

#[test]
fn damaged_and_endless_pdfs_are_refused_cleanly() {
    let junk = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> garbage".to_vec();
    let (_dir, path) = stored(&junk, "pdf");
    assert!(matches!(
        inspect(&junk, ExhibitKind::Pdf, &path),
        Err(ExhibitError::Malformed(_))
    ));
    let many = coloured_pdf(&vec![[0.5, 0.5, 0.5]; MAX_PAGES as usize + 1]);
    let (_dir2, path) = stored(&many, "pdf");
    assert_eq!(
        inspect(&many, ExhibitKind::Pdf, &path),
        Err(ExhibitError::TooManyPages(MAX_PAGES + 1))
    );
}

#[test]
fn poppler_runs_below_the_servers_priority_and_under_its_limits() {
    let own_nice = |stat: &str| -> i64 {
        let rest = stat.rsplit_once(')').expect("a stat line").1;
        // After the command's name: state is field 3, nice field 19.
        rest.split_whitespace().nth(16).unwrap().parse().unwrap()
    };
    let ours = own_nice(&std::fs::read_to_string("/proc/self/stat").unwrap());
    // `cat` stands in for the tool: it reads its own process's figures.
    let out = poppler_command(
        "cat",
        &["/proc/self/stat".as_ref(), "/proc/self/limits".as_ref()],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let (stat, limits) = text.split_once('\n').unwrap();
    assert_eq!(own_nice(stat), (ours + PDF_NICENESS as i64).min(19));
    let address_space = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))
        .unwrap();
    assert!(
        address_space.contains(&PDF_MEMORY_LIMIT.to_string()),
        "{address_space}"
    );
}

#[test]
fn a_tool_stopped_by_its_cpu_limit_is_refused_as_the_files_fault() {
    use std::os::unix::process::ExitStatusExt;
    // A child under a 1 s CPU limit, set as poppler's 20 s is: the kernel stops it, with
    // SIGKILL when the soft and hard limits are the same (SIGXCPU when the hard one is higher).
    let status = std::process::Command::new("prlimit")
        .args(["--cpu=1", "--", "sh", "-c", "while :; do :; done"])
        .status()
        .unwrap();
    assert!(matches!(status.signal(), Some(9 | 24)), "{status:?}");
    assert!(matches!(
        refusal("pdftoppm", status, ""),
        ExhibitError::Malformed(m) if m.contains("more than 20 s of CPU")
    ));
}

#[test]
fn a_renderer_that_cannot_be_started_is_the_nodes_fault_not_the_files() {
    assert!(matches!(
        poppler("courtroom-no-such-poppler-tool", &[]),
        Err(ExhibitError::Renderer(_))
    ));
    // One that fails on the file is the file's.
    assert!(matches!(
        poppler("sh", &["-c".as_ref(), "echo damaged >&2; exit 1".as_ref()]),
        Err(ExhibitError::Malformed(m)) if m.contains("damaged")
    ));
}
