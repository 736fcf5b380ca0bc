use super::*;
use crate::exhibit::testing::{checkerboard_png, coloured_pdf};

fn presenter() -> Presenter {
    Presenter {
        actor: "invitee:7 (plaintiff)".into(),
        caption: "Li Hua, plaintiff".into(),
        invitation: Some("7".into()),
    }
}

#[test]
fn an_exhibit_is_kept_indexed_and_found_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let exhibits = Exhibits::open(dir.path().join("h1"));
    let png = checkerboard_png(40, 20, 4, [255, 0, 0], [0, 0, 255]);
    let e = exhibits
        .add(&png, ExhibitKind::Png, "Photo of the dent", "user:clerk")
        .unwrap();
    assert_eq!(e.sha256, sha256_hex(&png));
    assert_eq!(e.pages, 1);
    assert_eq!(
        std::fs::read(exhibits.path(&e)).unwrap(),
        png,
        "kept byte for byte"
    );
    let again = exhibits
        .add(&png, ExhibitKind::Png, "Another title", "user:other")
        .unwrap();
    assert_eq!(again, e, "the same file is the same exhibit");
    let reopened = Exhibits::open(dir.path().join("h1"));
    assert_eq!(reopened.list(), vec![e]);
}

#[test]
fn bad_titles_and_bad_files_are_refused_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let exhibits = Exhibits::open(dir.path().join("h1"));
    let png = checkerboard_png(8, 8, 4, [0; 3], [255; 3]);
    for title in ["", "  ", "a\u{7}b", &"x".repeat(MAX_TITLE_CHARS + 1)] {
        assert!(matches!(
            exhibits.add(&png, ExhibitKind::Png, title, "u"),
            Err(ExhibitActError::BadTitle)
        ));
    }
    assert!(matches!(
        exhibits.add(b"%PDF-1.4 not really", ExhibitKind::Pdf, "Contract", "u"),
        Err(ExhibitActError::File(_))
    ));
    assert!(exhibits.list().is_empty());
    let left: Vec<_> = std::fs::read_dir(dir.path().join("h1")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The rendered height of 11-point lower-case text of an A4 PDF on the display picture:
/// the rows with a dark pixel in columns that lie on the text (and on the page) both for
/// the whole page and for its width across the display.
fn x_height(region: PageRegion) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let exhibits = Exhibits::open(dir.path().join("h1"));
    let pdf =
        crate::exhibit::testing::text_pdf("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 11.0);
    let e = exhibits.add(&pdf, ExhibitKind::Pdf, "Text", "u").unwrap();
    exhibits
        .show(&e.id, 1, region, presenter(), None, false, |_, _, _| {})
        .unwrap();
    let p = exhibits.display().current().unwrap().picture;
    let band = (p.height as f32 * 0.075) as u32;
    (0..p.height - band)
        .filter(|&y| (560..640).any(|x| p.pixel(x, y)[0] < 110))
        .count()
}

/// An A4 page of 11-point text, readable in the 1280 × 720 exhibit view: with the page's
/// width across the display its x-height is 11 pixels or more (13 measured; the exhibit
/// view shows the display at 0.89 of its size or more: `render::screen`'s test), and at
/// most 6 for the whole page (4 measured), which is why regions exist.
#[test]
fn eleven_point_text_is_twice_as_tall_with_the_pages_width_across_the_display() {
    let top = x_height(PageRegion::Top);
    let whole = x_height(PageRegion::Page);
    eprintln!("x-height: {top} px across the width, {whole} px for the whole page");
    assert!(top >= 11, "x-height across the width: {top} px");
    assert!(whole <= 6, "x-height of the whole page: {whole} px");
}

#[test]
fn showing_turning_and_hiding_drive_the_display() {
    let dir = tempfile::tempdir().unwrap();
    let exhibits = Exhibits::open(dir.path().join("h1"));
    let pdf = exhibits
        .add(
            &coloured_pdf(&[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
            ExhibitKind::Pdf,
            "Contract",
            "u",
        )
        .unwrap();
    assert_eq!(pdf.pages, 2);
    let slot = exhibits.display();
    assert!(slot.current().is_none());
    let (_, turned) = exhibits
        .show(
            &pdf.id,
            1,
            PageRegion::Page,
            presenter(),
            None,
            false,
            |_, _, _| {},
        )
        .unwrap();
    assert!(!turned);
    let first = slot.current().unwrap().picture;
    // The page's middle is red on the display.
    let [r, g, b] = first.pixel(640, 330);
    assert!(r > 200 && g < 40 && b < 40, "{:?}", [r, g, b]);
    let (_, turned) = exhibits
        .show(
            &pdf.id,
            2,
            PageRegion::Page,
            presenter(),
            None,
            false,
            |_, _, _| {},
        )
        .unwrap();
    assert!(turned, "the same exhibit again is a page turn");
    assert_eq!(slot.current().unwrap().picture.pixel(640, 330)[2], 255);
    assert!(matches!(
        exhibits.show(
            &pdf.id,
            3,
            PageRegion::Page,
            presenter(),
            None,
            false,
            |_, _, _| {}
        ),
        Err(ExhibitActError::File(ExhibitError::NoSuchPage {
            page: 3,
            pages: 2
        }))
    ));
    assert_eq!(
        exhibits.on_display().unwrap().page,
        2,
        "a refused page changes nothing"
    );
    let (hidden, was) = exhibits
        .hide(Some(&pdf.id), &presenter().actor, false, |_, _| {})
        .unwrap();
    assert_eq!((hidden.unwrap().id, was.page), (pdf.id.clone(), 2));
    assert!(slot.current().is_none() && exhibits.on_display().is_none());
    assert!(matches!(
        exhibits.hide(None, "user:clerk", true, |_, _| {}),
        Err(ExhibitActError::NotOnDisplay(_))
    ));
    assert!(matches!(
        exhibits.show(
            "nope",
            1,
            PageRegion::Page,
            presenter(),
            None,
            false,
            |_, _, _| {}
        ),
        Err(ExhibitActError::NotFound(_))
    ));
}

#[test]
fn another_persons_exhibit_is_theirs_but_the_bench_may_act_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let exhibits = Exhibits::open(dir.path().join("h1"));
    let png = checkerboard_png(8, 8, 4, [0; 3], [255; 3]);
    let e = exhibits.add(&png, ExhibitKind::Png, "Photo", "u").unwrap();
    let other = Presenter {
        actor: "invitee:9 (defendant)".into(),
        caption: "Wang, defendant".into(),
        invitation: None,
    };
    let noted = std::cell::RefCell::new(Vec::new());
    exhibits
        .show(
            &e.id,
            1,
            PageRegion::Page,
            presenter(),
            Some(3),
            false,
            |_, turned, _| {
                noted
                    .borrow_mut()
                    .push(if turned { "turned" } else { "shown" })
            },
        )
        .unwrap();
    assert!(matches!(
        exhibits.show(
            &e.id,
            1,
            PageRegion::Top,
            other.clone(),
            None,
            false,
            |_, _, _| noted.borrow_mut().push("wrong")
        ),
        Err(ExhibitActError::PresentedByAnother)
    ));
    assert!(matches!(
        exhibits.hide(Some(&e.id), &other.actor, false, |_, _| noted
            .borrow_mut()
            .push("wrong")),
        Err(ExhibitActError::PresentedByAnother)
    ));
    assert!(matches!(
        exhibits.hide(Some("another"), &presenter().actor, false, |_, _| {}),
        Err(ExhibitActError::NotOnDisplay(_))
    ));
    assert_eq!(exhibits.on_display().unwrap().presenter, presenter());
    assert_eq!(
        exhibits.display().current().unwrap().presenter_seat,
        Some(3)
    );
    // The bench (who manages exhibits) takes it down.
    exhibits
        .hide(None, "user:judge", true, |_, _| {
            noted.borrow_mut().push("hidden")
        })
        .unwrap();
    assert_eq!(
        *noted.borrow(),
        ["shown", "hidden"],
        "refused acts note nothing"
    );
}

#[test]
fn a_screen_replaced_by_an_exhibit_is_named_to_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let exhibits = Exhibits::open(dir.path().join("h1"));
    let png = checkerboard_png(8, 8, 4, [0; 3], [255; 3]);
    let e = exhibits.add(&png, ExhibitKind::Png, "Photo", "u").unwrap();
    let blank = ExhibitPicture::compose(16, 9, &[0; 16 * 9 * 3], "Shared screen", PageRegion::Page)
        .unwrap();
    let (shown, first) = exhibits
        .show_screen(presenter(), Some(2), false, blank, |now, previous| {
            assert_eq!(now.exhibit, SCREEN_EXHIBIT);
            assert!(previous.is_none());
        })
        .unwrap();
    assert_eq!((shown.exhibit.as_str(), shown.pages), (SCREEN_EXHIBIT, 1));
    assert!(exhibits.display().shows(first));
    let mut replaced = None;
    let bench = Presenter {
        actor: "user:clerk".into(),
        caption: "clerk".into(),
        invitation: None,
    };
    exhibits
        .show(
            &e.id,
            1,
            PageRegion::Page,
            bench,
            None,
            true,
            |_, _, previous| replaced = previous.map(|p| p.exhibit.clone()),
        )
        .unwrap();
    assert_eq!(replaced.as_deref(), Some(SCREEN_EXHIBIT));
    assert!(
        !exhibits.display().shows(first),
        "the screen's painter stops"
    );
    assert!(!exhibits
        .display()
        .repaint(first, exhibits.display().current().unwrap().picture));
}

#[test]
fn uploads_at_once_are_all_indexed_and_the_same_file_twice_is_one_exhibit() {
    let dir = tempfile::tempdir().unwrap();
    let exhibits = Arc::new(Exhibits::open(dir.path().join("h1")));
    let same = checkerboard_png(24, 24, 4, [9, 9, 9], [200, 200, 200]);
    let handles: Vec<_> = (0..8u8)
        .map(|n| {
            let exhibits = exhibits.clone();
            let same = same.clone();
            std::thread::spawn(move || {
                let own = checkerboard_png(16, 16, 4, [n, 0, 0], [0, 0, 255]);
                let a = exhibits.add(&own, ExhibitKind::Png, "Own", "u").unwrap();
                let b = exhibits.add(&same, ExhibitKind::Png, "Same", "u").unwrap();
                (a.id, b.id)
            })
        })
        .collect();
    let ids: Vec<(String, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0].1 == w[1].1),
        "one exhibit for the same file"
    );
    let reopened = Exhibits::open(dir.path().join("h1"));
    assert_eq!(
        reopened.list().len(),
        9,
        "every upload in the index on disk"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path().join("h1"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
