//! The rows against the key pass itself, on synthetic people, noise and lit screens.

use super::*;
use crate::gpu::{AdapterChoice, Gpu};
use crate::keying::calibrate::{estimate, tests::scene};
use crate::keying::pass::KeyPass;
use crate::keying::picture::{frame_from_rgb, synthetic_person, with_sensor_noise, SCREEN_GREEN};
use crate::keying::planes::pack_sites;
use crate::media::frame::VideoFrame;

fn rows_of(frame: &VideoFrame, key: &KeyParams) -> Vec<UvRect> {
    let mut sites = Vec::new();
    pack_sites(frame, &mut sites);
    subject_rows(&frame.y, &sites, (frame.width, frame.height), key)
}

fn inside(rects: &[UvRect], u: f32, v: f32) -> bool {
    rects
        .iter()
        .any(|r| u >= r[0] && u <= r[2] && v >= r[1] && v <= r[3])
}

/// The share of the frame the rows cover.
fn area(rects: &[UvRect]) -> f32 {
    rects.iter().map(|r| (r[2] - r[0]) * (r[3] - r[1])).sum()
}

/// A person with a 1-pixel strand of dark hair standing away from the head, and a pale
/// shirt whose edge the screen spills green onto.
fn strands_and_spill(w: u32, h: u32) -> VideoFrame {
    let person = synthetic_person(w, h, [235, 235, 230], 0);
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    let shirt = |x: u32, y: u32| person.y[(y * w + x) as usize] > 150;
    for y in 0..h {
        for x in 0..w {
            let mut c = SCREEN_GREEN;
            if shirt(x, y) {
                // Spill: the shirt's outer 3 pixels take some of the screen's green.
                let edge =
                    (1..=3).any(|d| x < d || x + d >= w || !shirt(x - d, y) || !shirt(x + d, y));
                c = if edge {
                    [170, 215, 160]
                } else {
                    [235, 235, 230]
                };
            }
            // A strand of hair from above the head to the frame's top right.
            let sx = w as f32 * 0.5 + (h as f32 * 0.2 - y as f32) * 0.8;
            if (y as f32) < h as f32 * 0.2 && (x as f32 - sx).abs() < 0.5 {
                c = [40, 30, 25];
            }
            let i = ((y * w + x) * 3) as usize;
            rgb[i..i + 3].copy_from_slice(&c);
        }
    }
    frame_from_rgb(w, h, &rgb)
}

/// A pseudo-random number generator for the tests (no dependency).
fn lcg(state: &mut u32) -> u32 {
    *state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
    *state >> 16
}

#[test]
fn a_box_surely_screen_holds_no_site_possibly_subject() {
    let key = KeyParams::default();
    let test = SiteTest::new(&key);
    let mut state = 1;
    let mut sure = 0;
    for _ in 0..20_000 {
        let plate = test.screen.at([0.5, 0.5]);
        let tile = test.at(plate, &[plate; 4]);
        // A box around the screen's colour, a few levels wide, sometimes much wider.
        let [y, cb, cr] = [111u8, 105, 58].map(|c| {
            let spread = if lcg(&mut state).is_multiple_of(4) {
                40
            } else {
                6
            };
            let lo = c.saturating_sub((lcg(&mut state) % spread) as u8);
            (lo, lo.saturating_add((lcg(&mut state) % spread) as u8))
        });
        if !tile.surely_screen(&[y, cb, cr]) {
            continue;
        }
        sure += 1;
        for _ in 0..20 {
            let pick = |(lo, hi): (u8, u8), s: &mut u32| lo + (lcg(s) % (hi - lo + 1) as u32) as u8;
            let (a, b) = (pick(y, &mut state), pick(y, &mut state));
            let (c, d) = (pick(cb, &mut state), pick(cr, &mut state));
            assert!(
                !tile.possibly_subject(a.min(b), a.max(b), c, d),
                "box {y:?} {cb:?} {cr:?}: site ({a}, {b}, {c}, {d})"
            );
        }
    }
    assert!(sure > 1_000, "only {sure} boxes were surely screen");
}

#[test]
fn every_pixel_the_key_pass_keeps_lies_in_the_rows() {
    let gpu = Gpu::open(AdapterChoice::Cpu).expect("lavapipe (mesa-vulkan-drivers)");
    let mut pass = KeyPass::new(gpu);
    let (w, h) = (320, 240);
    let mut frames = vec![
        (
            "grey person",
            synthetic_person(w, h, [128, 128, 128], 0),
            true,
        ),
        (
            "skin, swayed",
            synthetic_person(w, h, [205, 160, 130], 40),
            true,
        ),
        (
            "teal shirt",
            synthetic_person(w, h, [40, 150, 140], -30),
            true,
        ),
        ("dark suit", synthetic_person(w, h, [20, 22, 28], 10), true),
        ("hair and spill", strands_and_spill(w, h), true),
    ];
    let noisy = with_sensor_noise(synthetic_person(w, h, [150, 110, 90], 20), 4, 7);
    // Uniform noise of ±4 on every plane, unsmoothed: the keyer itself keeps specks of it
    // in about two tiles of three, so the rows cover the frame; only containment counts.
    frames.push(("camera noise", noisy, false));
    for (screen, gradient) in [([30, 190, 70], 0.4), ([15, 70, 28], 0.3)] {
        let (rgb, _) = scene(w, h, screen, gradient);
        frames.push(("lit screen, grey disc", frame_from_rgb(w, h, &rgb), false));
    }
    for (name, frame, person) in &frames {
        for (how, key) in [
            (
                "fitted",
                KeyParams {
                    screen: Some(estimate(frame).expect("a screen").model),
                    ..Default::default()
                },
            ),
            ("flat", KeyParams::default()),
        ] {
            let rows = rows_of(frame, &key);
            let keyed = pass.key(frame, &key).expect("key pass");
            let mut kept = 0;
            for y in 0..h {
                for x in 0..w {
                    // The seat shader draws alpha of 0.02 and more.
                    if keyed[((y * w + x) * 4 + 3) as usize] < 5 {
                        continue;
                    }
                    kept += 1;
                    let (u, v) = ((x as f32 + 0.5) / w as f32, (y as f32 + 0.5) / h as f32);
                    assert!(
                        inside(&rows, u, v),
                        "{name} ({how}): pixel ({x}, {y}) is keyed but outside {rows:?}"
                    );
                }
            }
            assert!(kept > 1000, "{name} ({how}): only {kept} pixels keyed");
            // A person leaves the screen around them out; the rows end where they do.
            if *person {
                assert!(
                    area(&rows) < 0.75,
                    "{name} ({how}): the rows cover {:.2} of the frame",
                    area(&rows)
                );
            }
        }
    }
}

#[test]
fn a_bare_screen_has_no_rows_and_a_person_has_their_own() {
    let (w, h) = (640, 360);
    let bare = VideoFrame::solid(w, h, SCREEN_GREEN);
    assert!(rows_of(&bare, &KeyParams::default()).is_empty());
    let person = synthetic_person(w, h, [128, 128, 128], 0);
    let rows = rows_of(&person, &KeyParams::default());
    // The head starts at 19.5 % of the height and the torso is 47 % wide: the rows start
    // a tile above the head and are at most the torso and two tiles wide.
    let top = rows.iter().map(|r| r[1]).fold(1.0, f32::min);
    assert!((0.1..0.2).contains(&top), "top {top}");
    let widest = rows.iter().map(|r| r[2] - r[0]).fold(0.0, f32::max);
    assert!(
        widest < 0.47 + 4.0 * TILE as f32 / w as f32,
        "widest {widest}"
    );
    assert!(rows.len() <= max_rects(h));
    // Rows run top to bottom without overlapping.
    for pair in rows.windows(2) {
        assert!(pair[0][3] <= pair[1][1], "{pair:?}");
    }
}

#[test]
fn the_garbage_matte_cuts_the_rows() {
    let (w, h) = (320, 240);
    let person = synthetic_person(w, h, [128, 128, 128], 0);
    let key = KeyParams {
        garbage: [0.0, 0.0, 1.0, 0.6],
        ..Default::default()
    };
    let rows = rows_of(&person, &key);
    let bottom = rows.iter().map(|r| r[3]).fold(0.0, f32::max);
    assert!((0.6..0.61).contains(&bottom), "bottom {bottom}");
}

#[test]
fn planes_of_another_size_draw_the_whole_frame() {
    let key = KeyParams::default();
    assert_eq!(
        subject_rows(&[0; 10], &[0; 8], (64, 64), &key),
        vec![WHOLE_FRAME]
    );
}
