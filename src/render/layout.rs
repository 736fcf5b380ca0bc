//! Scene layouts: the room's boxes, the camera, and one named seat per role, loaded from
//! `assets/layouts/NAME.json`. Layouts are data: a new room needs no code.

use std::path::Path;

use glam::{Mat4, Vec3};
use serde::Deserialize;

use super::material::Material;
use super::RenderError;

/// A whole layout as written in its JSON file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// Layout name (the file's stem).
    pub name: String,
    /// The virtual camera.
    pub camera: CameraSpec,
    /// Light.
    pub light: LightSpec,
    /// Axis-aligned boxes: floor, walls, bench, tables.
    pub boxes: Vec<BoxSpec>,
    /// Seats, one per place a person can sit.
    pub seats: Vec<SeatSpec>,
    /// Named camera presets besides `wide` (the main camera), e.g. `bench`, `plaintiff`.
    #[serde(default)]
    pub views: Vec<ViewSpec>,
    /// The evidence display (a screen on the wall) where exhibits are shown; absent, the room
    /// has none and exhibits cannot be shown in it.
    #[serde(default)]
    pub display: Option<PanelSpec>,
}

/// Name of the view that fills the frame with the evidence display, which a layout with a
/// display lists among its `views`.
pub const EXHIBIT_VIEW: &str = "exhibit";

/// A named camera preset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    /// View name, e.g. `bench`.
    pub name: String,
    /// Eye position, metres.
    pub eye: [f32; 3],
    /// Point looked at.
    pub target: [f32; 3],
    /// Vertical field of view, degrees.
    pub fov_y_deg: f32,
}

impl ViewSpec {
    /// The preset's camera.
    pub fn camera(&self) -> CameraSpec {
        CameraSpec {
            eye: self.eye,
            target: self.target,
            fov_y_deg: self.fov_y_deg,
        }
    }
}

/// Name of the view that shows the whole room (the layout's main camera).
pub const WIDE_VIEW: &str = "wide";
/// Prefix of a speaker view: `speaker:SEAT_ID` frames that seat's head.
pub const SPEAKER_PREFIX: &str = "speaker:";

/// The virtual camera.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSpec {
    /// Eye position, metres.
    pub eye: [f32; 3],
    /// Point looked at.
    pub target: [f32; 3],
    /// Vertical field of view, degrees.
    pub fov_y_deg: f32,
}

/// The key light and ambient level.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LightSpec {
    /// Direction towards the light.
    pub direction: [f32; 3],
    /// Ambient level 0..1.
    pub ambient: f32,
    /// Key light strength 0..1.
    pub strength: f32,
}

/// One axis-aligned box of furniture or architecture.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxSpec {
    /// What it is, for people reading the file.
    pub name: String,
    /// Minimum corner.
    pub min: [f32; 3],
    /// Maximum corner.
    pub max: [f32; 3],
    /// Linear-ish RGB colour 0..1; with a material, it tints the texture (its mean colour).
    pub color: [f32; 3],
    /// Rotation about the vertical axis through the box's centre, degrees.
    #[serde(default)]
    pub yaw_deg: f32,
    /// Surface texture (`"wood"`, `"wall"`, `"floor"`); absent, the box is flat-coloured.
    #[serde(default)]
    pub material: Option<Material>,
}

/// One seat: where a keyed person stands in the room.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatSpec {
    /// Seat id, e.g. `presiding_judge`, `assessor_left`.
    pub id: String,
    /// The role that normally takes this seat.
    pub role: String,
    /// Bottom centre of the person's billboard, metres.
    pub position: [f32; 3],
    /// Rotation about the vertical axis, degrees; 0 faces +z (towards the back of the room).
    pub yaw_deg: f32,
    /// Billboard width, metres.
    pub width: f32,
    /// Billboard height, metres.
    pub height: f32,
    /// Where the seat's nameplate stands; absent, it is derived from the furniture in front
    /// of the seat ([`Layout::nameplate`]).
    #[serde(default)]
    pub nameplate: Option<PanelSpec>,
}

/// A vertical rectangle standing in the room: a seat's nameplate, or the evidence display.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelSpec {
    /// Centre, metres.
    pub center: [f32; 3],
    /// Rotation about the vertical axis, degrees; 0 faces +z, as for seats.
    pub yaw_deg: f32,
    /// Width, metres.
    pub width: f32,
    /// Height, metres.
    pub height: f32,
}

impl PanelSpec {
    /// World-space corners: bottom-left, bottom-right, top-left, top-right.
    pub fn corners(&self) -> [Vec3; 4] {
        let yaw = self.yaw_deg.to_radians();
        let right = Vec3::new(yaw.cos(), 0.0, -yaw.sin());
        let c = Vec3::from(self.center);
        let half = right * (self.width / 2.0);
        let up = Vec3::Y * (self.height / 2.0);
        [c - half - up, c + half - up, c - half + up, c + half + up]
    }
}

impl Layout {
    /// Loads `DIR/layouts/NAME.json`.
    pub fn load(assets_dir: &Path, name: &str) -> Result<Self, RenderError> {
        if !crate::config::is_layout_name(name) {
            return Err(RenderError::Layout(format!("bad layout name {name:?}")));
        }
        let path = assets_dir.join("layouts").join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| RenderError::Layout(format!("{}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// Parses and validates layout JSON.
    pub fn parse(text: &str) -> Result<Self, RenderError> {
        let layout: Layout =
            serde_json::from_str(text).map_err(|e| RenderError::Layout(e.to_string()))?;
        let mut ids: Vec<&str> = layout.seats.iter().map(|s| s.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(RenderError::Layout("seat ids must be unique".into()));
        }
        if layout.seats.is_empty() {
            return Err(RenderError::Layout(
                "a layout needs at least one seat".into(),
            ));
        }
        for v in &layout.views {
            if v.name == WIDE_VIEW || v.name.starts_with(SPEAKER_PREFIX) || v.name.is_empty() {
                return Err(RenderError::Layout(format!(
                    "reserved view name {:?}",
                    v.name
                )));
            }
        }
        if let Some(d) = &layout.display {
            if d.width <= 0.0 || d.height <= 0.0 {
                return Err(RenderError::Layout("the display has no size".into()));
            }
        }
        if let Some(s) = layout
            .seats
            .iter()
            .find(|s| s.width <= 0.0 || s.height <= 0.0)
        {
            return Err(RenderError::Layout(format!("seat {} has no size", s.id)));
        }
        Ok(layout)
    }

    /// Index of a seat by id.
    pub fn seat_index(&self, id: &str) -> Option<usize> {
        self.seats.iter().position(|s| s.id == id)
    }

    /// Seat ids that normally hold `role`, in file order.
    pub fn seats_for_role<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a SeatSpec> + 'a {
        self.seats.iter().filter(move |s| s.role == role)
    }

    /// Every view this layout offers: `wide`, its presets, then `speaker:SEAT` per seat.
    pub fn view_names(&self) -> Vec<String> {
        std::iter::once(WIDE_VIEW.to_string())
            .chain(self.views.iter().map(|v| v.name.clone()))
            .chain(
                self.seats
                    .iter()
                    .map(|s| format!("{SPEAKER_PREFIX}{}", s.id)),
            )
            .collect()
    }

    /// The camera of a view: `wide`, a preset's name, `speaker:SEAT`, or `speaker` (the
    /// first seat, for looking at the framing). `None` if the layout has no such view.
    pub fn camera_for(&self, view: &str) -> Option<CameraSpec> {
        if view == WIDE_VIEW {
            return Some(self.camera);
        }
        if let Some(v) = self.views.iter().find(|v| v.name == view) {
            return Some(v.camera());
        }
        let seat = match view.strip_prefix(SPEAKER_PREFIX) {
            Some(id) => self.seats.iter().find(|s| s.id == id)?,
            None if view == "speaker" => self.seats.first()?,
            None => return None,
        };
        Some(seat.speaker_camera())
    }

    /// This layout seen through another view's camera (see [`Layout::camera_for`]).
    pub fn with_view(&self, view: &str) -> Result<Layout, RenderError> {
        let camera = self.camera_for(view).ok_or_else(|| {
            RenderError::Layout(format!(
                "layout {} has no view {view:?}; views: {}",
                self.name,
                self.view_names().join(", ")
            ))
        })?;
        Ok(Layout {
            camera,
            ..self.clone()
        })
    }

    /// World → clip transform for an output of the given aspect ratio.
    pub fn view_proj(&self, aspect: f32) -> Mat4 {
        let c = &self.camera;
        let view = Mat4::look_at_rh(Vec3::from(c.eye), Vec3::from(c.target), Vec3::Y);
        let proj = Mat4::perspective_rh(c.fov_y_deg.to_radians(), aspect, 0.1, 100.0);
        proj * view
    }
}

impl SeatSpec {
    /// World-space corners: bottom-left, bottom-right, top-left, top-right.
    pub fn corners(&self) -> [Vec3; 4] {
        let yaw = self.yaw_deg.to_radians();
        // The billboard faces (sin yaw, 0, cos yaw); `right` × up = facing.
        let right = Vec3::new(yaw.cos(), 0.0, -yaw.sin());
        let base = Vec3::from(self.position);
        let half = right * (self.width / 2.0);
        let up = Vec3::Y * self.height;
        [base - half, base + half, base - half + up, base + half + up]
    }
}

/// UV crop (offset, scale) that fills a billboard of aspect `seat` from a frame of aspect
/// `frame` without stretching: the frame's excess width or height is cut off evenly.
pub fn fit_crop(frame: f32, seat: f32) -> [f32; 4] {
    if frame > seat {
        let s = seat / frame;
        [(1.0 - s) / 2.0, 0.0, s, 1.0]
    } else {
        let s = frame / seat;
        [0.0, (1.0 - s) / 2.0, 1.0, s]
    }
}

/// Where a webcam-framed head falls in the billboard: `(u0, u1, v0, v1)` as fractions of its
/// width (from the left) and height (from the bottom). A typical head-and-shoulders framing
/// puts the head in the upper middle, about 30% of the picture tall.
pub const HEAD_REGION: (f32, f32, f32, f32) = (0.3, 0.7, 0.55, 0.85);

/// Vertical field of view of a speaker view, degrees.
const SPEAKER_FOV_DEG: f32 = 30.0;
/// Share of the frame height a head fills in a speaker view.
const SPEAKER_HEAD_SHARE: f32 = 0.4;

impl SeatSpec {
    /// Corners of the head region ([`HEAD_REGION`]).
    pub fn head_corners(&self) -> [Vec3; 4] {
        let [bl, br, tl, _] = self.corners();
        let right = br - bl;
        let up = tl - bl;
        let at = |u: f32, v: f32| bl + right * u + up * v;
        let (u0, u1, v0, v1) = HEAD_REGION;
        [at(u0, v0), at(u1, v0), at(u0, v1), at(u1, v1)]
    }

    /// The direction the seat faces (unit, horizontal).
    pub fn facing(&self) -> Vec3 {
        let yaw = self.yaw_deg.to_radians();
        Vec3::new(yaw.sin(), 0.0, yaw.cos())
    }

    /// A camera in front of the seat that frames its head at [`SPEAKER_HEAD_SHARE`] of the
    /// frame height, slightly above eye level, with the head a little above the centre.
    pub fn speaker_camera(&self) -> CameraSpec {
        let (_, _, v0, v1) = HEAD_REGION;
        let head_h = (v1 - v0) * self.height;
        let head = Vec3::from(self.position) + Vec3::Y * (self.height * (v0 + v1) / 2.0);
        let half = (SPEAKER_FOV_DEG.to_radians() / 2.0).tan();
        let distance = head_h / (SPEAKER_HEAD_SHARE * 2.0 * half);
        let eye = head + self.facing() * distance + Vec3::Y * (0.05 * distance);
        let target = head - Vec3::Y * (0.1 * head_h);
        CameraSpec {
            eye: eye.into(),
            target: target.into(),
            fov_y_deg: SPEAKER_FOV_DEG,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Layout {
        Layout::load(&crate::config::default_assets_dir(), "courtroom").unwrap()
    }

    #[test]
    fn shipped_courtroom_has_a_seat_for_every_role() {
        let l = shipped();
        for role in [
            "presiding_judge",
            "assessor",
            "clerk",
            "plaintiff",
            "defendant",
            "witness",
        ] {
            assert!(
                l.seats_for_role(role).next().is_some(),
                "no seat for {role}"
            );
        }
        assert_eq!(l.seats_for_role("assessor").count(), 2);
    }

    #[test]
    fn speaker_views_frame_the_head_large_and_centred() {
        let l = shipped();
        for seat in &l.seats {
            let view = l.with_view(&format!("speaker:{}", seat.id)).unwrap();
            let i = view.seat_index(&seat.id).unwrap();
            let b = view.head_boxes(1280, 720)[i];
            assert!(
                b.h >= 200,
                "{}: head {} px in its speaker view",
                seat.id,
                b.h
            );
            let cx = (b.x + b.w / 2) as i32;
            assert!((cx - 640).abs() < 40, "{}: head centred, at {cx}", seat.id);
        }
    }

    #[test]
    fn views_are_data_and_unknown_views_are_refused() {
        let l = shipped();
        let names = l.view_names();
        for v in ["wide", "bench", "plaintiff", "defendant", "speaker:clerk"] {
            assert!(names.iter().any(|n| n == v), "no view {v}");
            assert!(l.camera_for(v).is_some());
        }
        assert_ne!(l.camera_for("bench"), l.camera_for("wide"));
        assert!(l.with_view("nope").is_err());
        assert!(l.with_view("speaker:nobody").is_err());
        let text = std::fs::read_to_string(
            crate::config::default_assets_dir().join("layouts/courtroom.json"),
        )
        .unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["views"][0]["name"] = "wide".into();
        assert!(Layout::parse(&v.to_string()).is_err(), "reserved view name");
    }

    #[test]
    fn bad_layouts_are_refused() {
        let ok = std::fs::read_to_string(
            crate::config::default_assets_dir().join("layouts/courtroom.json"),
        )
        .unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&ok).unwrap();
        let first = v["seats"][0].clone();
        v["seats"].as_array_mut().unwrap().push(first);
        assert!(Layout::parse(&v.to_string()).is_err(), "duplicate seat id");
        assert!(Layout::parse("{}").is_err());
        assert!(Layout::load(&crate::config::default_assets_dir(), "../etc").is_err());
    }

    #[test]
    fn fit_crop_cuts_the_excess_evenly() {
        let c = fit_crop(16.0 / 9.0, 4.0 / 3.0);
        assert!((c[2] - 0.75).abs() < 1e-5 && (c[0] - 0.125).abs() < 1e-5 && c[3] == 1.0);
        let c = fit_crop(4.0 / 3.0, 16.0 / 9.0);
        assert!((c[3] - 0.75).abs() < 1e-5 && c[2] == 1.0);
    }

    #[test]
    fn corners_face_the_yaw_direction() {
        let seat = SeatSpec {
            id: "s".into(),
            role: "r".into(),
            position: [0.0, 0.0, 0.0],
            yaw_deg: 90.0,
            width: 2.0,
            height: 1.0,
            nameplate: None,
        };
        let c = seat.corners();
        // Facing +x, so the billboard spans z.
        assert!((c[0].x - c[1].x).abs() < 1e-5);
        assert!((c[0].z - c[1].z).abs() > 1.9);
        assert!((c[2].y - 1.0).abs() < 1e-5);
    }
}
