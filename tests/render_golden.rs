//! Golden images: `courtroom render` of the default layout's views (and the mediation room)
//! against PNGs in `tests/render_golden/`, with a tolerance for rasteriser differences.
//! Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test --release --test
//! render_golden` and look at the new images before committing them.

use std::path::{Path, PathBuf};
use std::process::Command;

const PEOPLE: [(&str, &str); 9] = [
    ("presiding_judge", "c83232"),
    ("assessor_left", "3c8cc8"),
    ("assessor_right", "c8a03c"),
    ("clerk", "8c3cc8"),
    ("witness", "b43c78"),
    ("plaintiff", "3250d2"),
    ("defendant", "d27832"),
    ("plaintiff_agent", "5078e6"),
    ("defendant_agent", "e69650"),
];

/// Mean absolute difference per channel allowed, 0..255.
const MAX_MEAN_DIFF: f64 = 3.0;
/// Share of pixels allowed to differ by more than 40 in some channel (edges move by a pixel).
const MAX_OUTLIER_SHARE: f64 = 0.01;

fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn golden_dir() -> PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("tests/render_golden")
}

fn check(layout: &str, view: &str, people: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{layout}-{}", view.replace(':', "-"));
    let out = dir.path().join(format!("{name}.png"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_courtroom"));
    cmd.args([
        "render", "--layout", layout, "--view", view, "--size", "640x360",
    ]);
    for (seat, hex) in people {
        cmd.arg("--participant").arg(format!("{seat}=#{hex}"));
    }
    cmd.arg("--out").arg(&out);
    assert!(cmd.status().unwrap().success(), "render {name}");
    let golden = golden_dir().join(format!("{name}.png"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::copy(&out, &golden).unwrap();
        return;
    }
    let (w, h, got) = read_png(&out);
    let (gw, gh, want) = read_png(&golden);
    assert_eq!((w, h), (gw, gh), "{name}: size");
    let (mut sum, mut outliers) = (0u64, 0usize);
    for (a, b) in got.chunks_exact(4).zip(want.chunks_exact(4)) {
        let d: Vec<u32> = (0..3).map(|i| a[i].abs_diff(b[i]) as u32).collect();
        sum += d.iter().map(|&v| v as u64).sum::<u64>();
        outliers += d.iter().any(|&v| v > 40) as usize;
    }
    let pixels = (w * h) as usize;
    let mean = sum as f64 / (pixels * 3) as f64;
    let share = outliers as f64 / pixels as f64;
    let kept = std::env::temp_dir().join(format!("courtroom-golden-{name}.png"));
    let _ = std::fs::copy(&out, &kept);
    assert!(
        mean <= MAX_MEAN_DIFF && share <= MAX_OUTLIER_SHARE,
        "{name}: mean diff {mean:.2}, {:.2} % pixels off (got: {}, golden: {})",
        share * 100.0,
        kept.display(),
        golden.display()
    );
}

#[test]
fn courtroom_views_match_their_golden_images() {
    for view in [
        "wide",
        "bench",
        "plaintiff",
        "defendant",
        "witness",
        "speaker:presiding_judge",
    ] {
        check("courtroom", view, &PEOPLE);
    }
}

#[test]
fn mediation_room_matches_its_golden_image() {
    check(
        "mediation",
        "wide",
        &[
            ("mediator", "c83232"),
            ("plaintiff", "3250d2"),
            ("defendant", "d27832"),
            ("clerk", "8c3cc8"),
        ],
    )
}

#[test]
fn the_comparison_sees_a_changed_scene() {
    // Guard against a vacuous comparison: an empty courtroom must not pass as the full one.
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        return;
    }
    let result = std::panic::catch_unwind(|| check("courtroom", "wide", &PEOPLE[..1]));
    assert!(
        result.is_err(),
        "an almost empty room matched the full room's golden image"
    );
}
