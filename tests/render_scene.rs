//! `courtroom render` end to end on the configured adapter (lavapipe here): every role's seat
//! shows its participant, tables and the bench hide lower bodies, and heads are legible.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const PEOPLE: [(&str, [u8; 3]); 7] = [
    ("presiding_judge", [200, 50, 50]),
    ("assessor_left", [60, 140, 200]),
    ("assessor_right", [200, 160, 60]),
    ("clerk", [140, 60, 200]),
    ("witness", [180, 60, 120]),
    ("plaintiff", [50, 80, 210]),
    ("defendant", [210, 120, 50]),
];

struct Still {
    width: u32,
    rgba: Vec<u8>,
    seats: Vec<Value>,
}

impl Still {
    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 4) as usize;
        [self.rgba[i], self.rgba[i + 1], self.rgba[i + 2]]
    }

    fn seat(&self, id: &str) -> &Value {
        self.seats
            .iter()
            .find(|s| s["seat"] == id)
            .unwrap_or_else(|| panic!("{id} not in SEATS.json"))
    }
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter()
        .zip(b)
        .all(|(&x, y)| (x as i32 - y as i32).abs() <= 40)
}

fn render(dir: &Path, layout: &str, view: &str, size: &str, people: &[(&str, [u8; 3])]) -> Still {
    render_with(dir, layout, view, size, people, &[])
}

fn render_with(
    dir: &Path,
    layout: &str,
    view: &str,
    size: &str,
    people: &[(&str, [u8; 3])],
    extra: &[&str],
) -> Still {
    let tag: String = extra
        .join("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let out = dir.join(format!("{layout}-{view}-{size}{tag}.png").replace(':', "_"));
    let seats = out.with_extension("json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_courtroom"));
    cmd.args(["render", "--layout", layout, "--view", view, "--size", size]);
    for (seat, [r, g, b]) in people {
        cmd.arg("--participant")
            .arg(format!("{seat}=#{r:02x}{g:02x}{b:02x}"));
    }
    cmd.args(extra);
    cmd.arg("--out").arg(&out).arg("--seats-json").arg(&seats);
    let status = cmd.status().expect("run courtroom render");
    assert!(status.success(), "courtroom render failed: {status}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut rgba = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgba).unwrap();
    let want: Vec<u32> = size.split('x').map(|v| v.parse().unwrap()).collect();
    assert_eq!((info.width, info.height), (want[0], want[1]));
    let seats: Vec<Value> = serde_json::from_slice(&std::fs::read(&seats).unwrap()).unwrap();
    Still {
        width: info.width,
        rgba,
        seats,
    }
}

fn b(v: &Value) -> (u32, u32, u32, u32) {
    let n = |k: &str| v[k].as_u64().unwrap() as u32;
    (n("x"), n("y"), n("w"), n("h"))
}

#[test]
fn every_role_is_seen_in_its_seat_and_heads_are_legible_in_the_wide_view() {
    let dir = tempfile::tempdir().unwrap();
    for (size, min_head) in [("1280x720", 60), ("1920x1080", 90)] {
        let still = render(dir.path(), "courtroom", "wide", size, &PEOPLE);
        assert_eq!(still.seats.len(), PEOPLE.len());
        for (seat, colour) in PEOPLE {
            let s = still.seat(seat);
            let (hx, hy, hw, hh) = b(&s["head"]);
            assert!(
                hh >= min_head,
                "{seat} head {hh} px tall at {size}, want ≥ {min_head}"
            );
            let (bx, by, bw, bh) = b(&s["body"]);
            assert!(hx >= bx && hy >= by && hx + hw <= bx + bw && hy + hh <= by + bh);
            let centre = still.pixel(hx + hw / 2, hy + hh / 2);
            assert!(
                near(centre, colour),
                "{seat} head centre at {size} is {centre:?}, want about {colour:?}"
            );
        }
        // Furniture in front hides the lower body: the bottom of each billboard shows the
        // table or bench, not the person.
        for seat in [
            "presiding_judge",
            "clerk",
            "plaintiff",
            "defendant",
            "witness",
        ] {
            let colour = PEOPLE.iter().find(|p| p.0 == seat).unwrap().1;
            let (bx, by, bw, bh) = b(&still.seat(seat)["body"]);
            let low = still.pixel(bx + bw / 2, by + bh * 92 / 100);
            assert!(
                !near(low, colour),
                "{seat}'s lower body shows through at {size}: {low:?}"
            );
        }
    }
}

#[test]
fn an_empty_seat_shows_the_room_not_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let full = render(dir.path(), "courtroom", "wide", "1280x720", &PEOPLE);
    let (hx, hy, hw, hh) = b(&full.seat("clerk")["head"]);
    let without: Vec<_> = PEOPLE.iter().copied().filter(|p| p.0 != "clerk").collect();
    let empty = render(dir.path(), "courtroom", "wide", "1280x720", &without);
    let clerk = PEOPLE[3].1;
    assert!(near(full.pixel(hx + hw / 2, hy + hh / 2), clerk));
    assert!(!near(empty.pixel(hx + hw / 2, hy + hh / 2), clerk));
}

#[test]
fn the_speaker_view_fills_the_frame_with_the_speakers_head() {
    let dir = tempfile::tempdir().unwrap();
    for seat in ["presiding_judge", "plaintiff", "witness"] {
        let still = render(
            dir.path(),
            "courtroom",
            &format!("speaker:{seat}"),
            "1280x720",
            &PEOPLE,
        );
        let (hx, hy, hw, hh) = b(&still.seat(seat)["head"]);
        assert!(
            hh >= 200,
            "{seat}'s head is {hh} px tall in the speaker view"
        );
        let colour = PEOPLE.iter().find(|p| p.0 == seat).unwrap().1;
        assert!(near(still.pixel(hx + hw / 2, hy + hh / 2), colour));
    }
}

#[test]
fn every_preset_view_and_the_mediation_room_render() {
    let dir = tempfile::tempdir().unwrap();
    for view in ["bench", "plaintiff", "defendant", "witness"] {
        let still = render(dir.path(), "courtroom", view, "1280x720", &PEOPLE);
        let seat = match view {
            "bench" => "presiding_judge",
            v => v,
        };
        let (hx, hy, hw, hh) = b(&still.seat(seat)["head"]);
        assert!(hh >= 100, "{seat}'s head is {hh} px in the {view} view");
        let colour = PEOPLE.iter().find(|p| p.0 == seat).unwrap().1;
        assert!(
            near(still.pixel(hx + hw / 2, hy + hh / 2), colour),
            "{view}"
        );
    }
    let people = [
        ("mediator", [200, 50, 50]),
        ("plaintiff", [50, 80, 210]),
        ("defendant", [210, 120, 50]),
        ("clerk", [140, 60, 200]),
    ];
    let still = render(dir.path(), "mediation", "wide", "1280x720", &people);
    for (seat, colour) in people {
        let (hx, hy, hw, hh) = b(&still.seat(seat)["head"]);
        assert!(hh >= 60, "mediation {seat} head {hh} px");
        assert!(
            near(still.pixel(hx + hw / 2, hy + hh / 2), colour),
            "{seat}"
        );
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_courtroom"));
    cmd.args(["render", "--view", "no_such_view", "--out"])
        .arg(dir.path().join("x.png"));
    assert!(!cmd.status().unwrap().success(), "unknown view refused");
}

/// The plaque's colours (src/render/nameplate.rs): gold title and border, warm white name.
const TEXT_COLOURS: [[u8; 3]; 2] = [[226, 186, 96], [246, 242, 232]];

#[test]
fn a_seated_persons_nameplate_shows_text_in_the_hearings_language() {
    let dir = tempfile::tempdir().unwrap();
    let people = [
        ("presiding_judge", [200, 50, 50]),
        ("clerk", [140, 60, 200]),
    ];
    let names = [
        "--name",
        "presiding_judge=Zhang Wei",
        "--name",
        "clerk=Liu Yang",
    ];
    let zh = render_with(
        dir.path(),
        "courtroom",
        "wide",
        "1280x720",
        &people,
        &[&["--locale", "zh-CN"][..], &names].concat(),
    );
    let en = render_with(
        dir.path(),
        "courtroom",
        "wide",
        "1280x720",
        &people,
        &[&["--locale", "en"][..], &names].concat(),
    );
    let bare = render(dir.path(), "courtroom", "wide", "1280x720", &people);
    assert!(
        bare.seat("presiding_judge").get("nameplate").is_none(),
        "no locale, no nameplates"
    );
    for seat in ["presiding_judge", "clerk"] {
        let plate = zh.seat(seat)["nameplate"].clone();
        assert_eq!(plate, en.seat(seat)["nameplate"], "{seat}: same place");
        let (x, y, w, h) = b(&plate);
        // Two lines, the title about a third of the plaque: at least ~14 px of text.
        assert!(h >= 42 && w >= 120, "{seat}: nameplate {w}x{h} px");
        let inked = |s: &Still| {
            (y..y + h)
                .flat_map(|py| (x..x + w).map(move |px| (px, py)))
                .filter(|&(px, py)| TEXT_COLOURS.iter().any(|&c| near(s.pixel(px, py), c)))
                .count()
        };
        let (zh_ink, en_ink, bare_ink) = (inked(&zh), inked(&en), inked(&bare));
        let area = (w * h) as usize;
        assert!(
            zh_ink > area / 20 && en_ink > area / 20,
            "{seat}: text pixels zh {zh_ink}, en {en_ink} of {area}"
        );
        assert!(
            bare_ink < area / 100,
            "{seat}: {bare_ink} text-coloured pixels without plates"
        );
        let differing = (y..y + h)
            .flat_map(|py| (x..x + w).map(move |px| (px, py)))
            .filter(|&(px, py)| !near(zh.pixel(px, py), en.pixel(px, py)))
            .count();
        assert!(
            differing > area / 20,
            "{seat}: zh and en differ in {differing} px"
        );
    }
}

#[test]
fn every_front_plaque_lies_whole_inside_the_wide_view() {
    // Seats nobody sits behind in the wide view: their plaques must not run off the frame
    // (the agents' sit behind their parties and may be hidden by them, which is depth, not
    // framing).
    let dir = tempfile::tempdir().unwrap();
    let front = [
        "presiding_judge",
        "assessor_left",
        "assessor_right",
        "clerk",
        "witness",
        "plaintiff",
        "defendant",
    ];
    let people: Vec<(&str, [u8; 3])> = PEOPLE.to_vec();
    let names: Vec<String> = people
        .iter()
        .flat_map(|(seat, _)| ["--name".to_string(), format!("{seat}=Name")])
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for (size, (fw, fh)) in [("1280x720", (1280, 720)), ("1920x1080", (1920, 1080))] {
        let still = render_with(
            dir.path(),
            "courtroom",
            "wide",
            size,
            &people,
            &[&["--locale", "en"][..], &names].concat(),
        );
        for seat in front {
            let (x, y, w, h) = b(&still.seat(seat)["nameplate"]);
            assert!(
                x > 0 && y > 0 && x + w < fw && y + h < fh,
                "{size}: {seat}'s plaque at {x},{y} {w}x{h} touches the frame's edge"
            );
        }
    }
}

/// A photographed person against an unevenly lit green screen (brighter to one side, with a
/// soft darker fold), written as a PNG; the person (a head and shoulders in skin and dark
/// cloth) covers the middle.
fn person_on_an_uneven_screen(path: &Path) {
    let (w, h) = (640u32, 480u32);
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let u = x as f32 / w as f32;
            // 35 % brighter on the right than on the left, and a fold a tenth of the frame
            // wide at u = 0.2 that takes away up to 30 % of the light.
            let fold = 1.0 - 0.3 * (-((u - 0.2) / 0.05).powi(2)).exp();
            let light = (0.8 + 0.35 * u) * fold;
            let (cx, fy) = (x as f32 - w as f32 / 2.0, y as f32);
            let head = (cx / 70.0).powi(2) + ((fy - 170.0) / 90.0).powi(2) < 1.0;
            let body = fy > 250.0 && cx.abs() < 150.0 + (fy - 250.0) * 0.4;
            let c = if head {
                [205.0, 160.0, 135.0]
            } else if body {
                [60.0, 60.0, 80.0]
            } else {
                [40.0 * light, 170.0 * light, 70.0 * light]
            };
            rgb.extend(c.map(|v: f32| v.clamp(0.0, 255.0) as u8));
        }
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut enc = png::Encoder::new(file, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(&rgb).unwrap();
}

/// `courtroom render` keys a photographed person as the live hearing does (the screen fitted
/// from the picture): around the person the seat shows the room, not a translucent
/// green-grey rectangle where the screen was lit unevenly.
#[test]
fn a_person_photographed_on_an_uneven_screen_is_keyed_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("plaintiff.png");
    person_on_an_uneven_screen(&photo);
    let seated = render_with(
        dir.path(),
        "courtroom",
        "wide",
        "1280x720",
        &[],
        &["--participant", &format!("plaintiff={}", photo.display())],
    );
    let empty = render(dir.path(), "courtroom", "wide", "1280x720", &[]);
    let (x0, y0, bw, bh) = b(&seated.seat("plaintiff")["body"]);
    // Where the screen was, the seated render is the empty room's: the person changes about
    // an eighth of the seat's box (12 %); the fixed key's translucent rectangle changed half
    // (50 %).
    let (mut changed, mut greenish, mut all) = (0u32, 0u32, 0u32);
    for y in y0..y0 + bh {
        for x in x0..x0 + bw {
            let (p, q) = (seated.pixel(x, y), empty.pixel(x, y));
            all += 1;
            let d = p
                .iter()
                .zip(q)
                .map(|(&a, b)| (a as i32 - b as i32).abs())
                .max()
                .unwrap();
            if d > 24 {
                changed += 1;
                if p[1] as i32 > p[0] as i32 + 20 && p[1] as i32 > p[2] as i32 + 10 {
                    greenish += 1;
                }
            }
        }
    }
    let changed_share = changed as f64 / all as f64;
    assert!(
        changed_share < 0.25,
        "{:.0} % of the plaintiff's seat differs from the empty room: the screen was not \
         keyed out",
        changed_share * 100.0
    );
    assert!(
        (greenish as f64) < 0.01 * all as f64,
        "{greenish} green pixels of {all} in the plaintiff's seat"
    );
}

/// The exhibit view shows the presenter picture-in-picture in its lower right corner: their
/// colour fills part of the corner with `--exhibit-presenter`, and none of it without.
#[test]
fn the_exhibit_view_shows_its_presenter_picture_in_picture() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.png");
    let (w, h) = (400u32, 560u32);
    let mut encoder = png::Encoder::new(std::fs::File::create(&page).unwrap(), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer
        .write_image_data(&vec![250u8; (w * h * 3) as usize])
        .unwrap();
    writer.finish().unwrap();
    let plaintiff = [50, 80, 210];
    let people = [("plaintiff", plaintiff), ("defendant", [210, 120, 50])];
    let exhibit = ["--exhibit", page.to_str().unwrap()];
    let corner_share = |still: &Still| {
        let (mut hits, mut all) = (0u32, 0u32);
        for y in 500..700 {
            for x in 1010..1260 {
                all += 1;
                if near(still.pixel(x, y), plaintiff) {
                    hits += 1;
                }
            }
        }
        hits as f64 / all as f64
    };
    let with = render_with(
        dir.path(),
        "courtroom",
        "exhibit",
        "1280x720",
        &people,
        &[&exhibit[..], &["--exhibit-presenter", "plaintiff"]].concat(),
    );
    let without = render_with(
        dir.path(),
        "courtroom",
        "exhibit",
        "1280x720",
        &people,
        &exhibit,
    );
    let (a, b) = (corner_share(&with), corner_share(&without));
    assert!(
        a > 0.15,
        "the presenter fills {:.1} % of the corner",
        a * 100.0
    );
    assert!(
        b < 0.005,
        "without a presenter, {:.1} % of the corner",
        b * 100.0
    );
    // The page stays visible in the middle of the frame.
    assert!(
        with.pixel(640, 300).iter().all(|&c| c > 200),
        "{:?}",
        with.pixel(640, 300)
    );
}
