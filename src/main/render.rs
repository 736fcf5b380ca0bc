//! `courtroom render`: a still of the courtroom with given people (and an exhibit), to a PNG,
//! drawn by the same compositor as a hearing.

use std::path::PathBuf;

use clap::Args;
use courtroom::config::Settings;

use super::Common;

/// Options of `courtroom render`.
#[derive(Args, Clone)]
pub struct RenderArgs {
    #[command(flatten)]
    pub common: Common,
    /// Scene layout in assets/layouts/ (default: the `hearing.layout` setting).
    #[arg(long)]
    layout: Option<String>,
    /// Output size, WxH.
    #[arg(long, default_value = "1280x720")]
    size: String,
    /// Who sits where: ROLE_OR_SEAT=IMAGE.png, or ROLE_OR_SEAT=#RRGGBB for a synthetic person
    /// of that colour on green. Repeatable.
    #[arg(long = "participant", value_name = "ROLE=IMAGE")]
    participants: Vec<String>,
    /// How a photographed participant's screen is keyed: `auto` fits it from the picture, as
    /// the live hearing and `courtroom key` do; `#RRGGBB` keys one flat colour. Synthetic
    /// people are drawn on the default key colour and keyed with it.
    #[arg(long, default_value = "auto")]
    key: String,
    /// Output PNG.
    #[arg(long, value_name = "OUT.png")]
    out: PathBuf,
    /// Also write each placed participant's seat box (pixels) as JSON.
    #[arg(long, value_name = "SEATS.json")]
    seats_json: Option<PathBuf>,
    /// Draw nameplates in this locale's language (`zh`, `zh-CN` → Chinese; else English).
    #[arg(long, value_name = "LOCALE")]
    locale: Option<String>,
    /// A placed participant's display name for their nameplate: ROLE_OR_SEAT=NAME, with
    /// ROLE_OR_SEAT as given to --participant. Repeatable.
    #[arg(long = "name", value_name = "ROLE=NAME")]
    names: Vec<String>,
    /// Camera view: `wide`, a preset of the layout (e.g. `bench`, `plaintiff`), or
    /// `speaker:SEAT`.
    #[arg(long, default_value = "wide")]
    view: String,
    /// An exhibit on the room's evidence display: a PNG, JPEG or PDF file, as a hearing shows
    /// it (with `--view exhibit`, full frame).
    #[arg(long, value_name = "FILE")]
    exhibit: Option<PathBuf>,
    /// The exhibit's page, from 1.
    #[arg(long, default_value_t = 1)]
    exhibit_page: u32,
    /// What part of the page: `page` (whole), or its width across the display and its `top`,
    /// `middle` or `bottom`.
    #[arg(long, default_value = "page")]
    exhibit_region: String,
    /// The caption under the exhibit (its title and presenter, as a hearing writes it).
    #[arg(long, default_value = "Exhibit")]
    exhibit_caption: String,
    /// Who presents the exhibit (ROLE_OR_SEAT, as given to --participant): drawn again
    /// picture-in-picture, as a hearing's exhibit view shows its presenter.
    #[arg(long, value_name = "ROLE")]
    exhibit_presenter: Option<String>,
}

pub fn render(settings: &Settings, args: &RenderArgs) -> anyhow::Result<()> {
    use courtroom::render::{still, AdapterChoice, Gpu, Layout};
    let (w, h) = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--size must be WxH, e.g. 1280x720"))?;
    let layout = Layout::load(
        &settings.assets_dir(),
        args.layout.as_deref().unwrap_or(&settings.hearing.layout),
    )?
    .with_view(&args.view)?;
    let key_spec: courtroom::keying::cli::KeySpec = args.key.parse()?;
    let mut people = Vec::new();
    let mut keys = Vec::new();
    let mut names = Vec::new();
    let mut inset = None;
    for p in &args.participants {
        let (who, what) = p
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--participant {p:?}: expected ROLE=IMAGE"))?;
        let taken: Vec<usize> = people.iter().map(|(s, _)| *s).collect();
        let seat = layout
            .seat_index(who)
            .or_else(|| {
                layout
                    .seats
                    .iter()
                    .enumerate()
                    .find(|(i, s)| s.role == who && !taken.contains(i))
                    .map(|(i, _)| i)
            })
            .ok_or_else(|| anyhow::anyhow!("no free seat for {who:?} in layout {}", layout.name))?;
        let frame = match what.strip_prefix('#') {
            Some(hex) if hex.len() == 6 => {
                let c = u32::from_str_radix(hex, 16)?;
                still::synthetic_person(640, 480, [(c >> 16) as u8, (c >> 8) as u8, c as u8], 0)
            }
            _ => {
                let frame = still::frame_from_png(std::path::Path::new(what))?;
                let (params, hint) = courtroom::keying::cli::resolve_params(
                    &frame,
                    key_spec,
                    courtroom::render::KeyParams::default(),
                );
                if let Some(hint) = hint {
                    eprintln!("{who}: {hint}");
                }
                keys.push((seat, params));
                frame
            }
        };
        let mut given = args.names.iter().filter_map(|n| n.split_once('='));
        if let Some((_, name)) = given.find(|(k, _)| *k == who) {
            names.push((seat, name.to_string()));
        }
        if args.exhibit_presenter.as_deref() == Some(who) {
            inset = Some(seat);
        }
        people.push((seat, frame));
    }
    if let (Some(who), None) = (&args.exhibit_presenter, inset) {
        anyhow::bail!("--exhibit-presenter {who:?}: no --participant {who}=…");
    }
    let gpu = Gpu::open(AdapterChoice::parse(&settings.render.adapter))?;
    let lang = args
        .locale
        .as_deref()
        .map(courtroom::render::Lang::from_locale);
    let exhibit = args
        .exhibit
        .as_deref()
        .map(|path| {
            let region: courtroom::render::PageRegion =
                serde_json::from_value(serde_json::Value::String(args.exhibit_region.clone()))
                    .map_err(|_| {
                        anyhow::anyhow!("--exhibit-region: page, top, middle or bottom")
                    })?;
            exhibit_picture(path, args.exhibit_page, region, &args.exhibit_caption)
        })
        .transpose()?;
    let (rgba, placed) = still::render_still_named(
        gpu,
        layout,
        w,
        h,
        &people,
        lang,
        &names,
        &keys,
        exhibit.as_ref(),
        inset,
    )?;
    still::write_png(&args.out, w, h, &rgba)?;
    if let Some(path) = &args.seats_json {
        std::fs::write(path, serde_json::to_vec_pretty(&placed)?)?;
    }
    Ok(())
}

/// Page `page` of the exhibit file at `path` as the evidence display shows it.
fn exhibit_picture(
    path: &std::path::Path,
    page: u32,
    region: courtroom::render::PageRegion,
    caption: &str,
) -> anyhow::Result<std::sync::Arc<courtroom::render::ExhibitPicture>> {
    use courtroom::exhibit::{self, ExhibitKind};
    let kind = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
    {
        Some(e) if e == "pdf" => ExhibitKind::Pdf,
        Some(e) if e == "png" => ExhibitKind::Png,
        Some(e) if e == "jpg" || e == "jpeg" => ExhibitKind::Jpeg,
        _ => anyhow::bail!(
            "{}: an exhibit is a .pdf, .png or .jpg file",
            path.display()
        ),
    };
    let bytes = std::fs::read(path)?;
    let pages = exhibit::inspect(&bytes, kind, path)?;
    let read = exhibit::read_page(path, kind, page, pages)?;
    let picture = courtroom::render::ExhibitPicture::compose(
        read.width,
        read.height,
        &read.rgb,
        caption,
        region,
    )?;
    Ok(std::sync::Arc::new(picture))
}
