//! Scene layouts: the room's boxes, the camera, and one named seat per role, loaded from
//! `assets/layouts/NAME.json`. Layouts are data: a new room needs no code.

use std::path::Path;

use glam::{Mat4, Vec3, Vec4};
use serde::{Deserialize, Serialize};

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
}

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
    pub nameplate: Option<NameplateSpec>,
}

/// A nameplate's placement: a vertical rectangle in the room.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameplateSpec {
    /// Centre, metres.
    pub center: [f32; 3],
    /// Rotation about the vertical axis, degrees; 0 faces +z, as for seats.
    pub yaw_deg: f32,
    /// Width, metres.
    pub width: f32,
    /// Height, metres.
    pub height: f32,
}

impl NameplateSpec {
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

/// Largest nameplate, metres (width, height): legible in the wide view, smaller than a desk.
const NAMEPLATE_MAX: (f32, f32) = (0.8, 0.26);
/// How far in front of its seat a desk may stand and still carry the seat's nameplate.
const NAMEPLATE_REACH: f32 = 2.0;

/// A seat's region on the output frame, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScreenBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Layout {
    /// Loads `DIR/layouts/NAME.json`.
    pub fn load(assets_dir: &Path, name: &str) -> Result<Self, RenderError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
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

    /// Each seat's screen region at the given output size, clipped to the frame.
    pub fn screen_boxes(&self, width: u32, height: u32) -> Vec<ScreenBox> {
        self.project(width, height, |seat| seat.corners())
    }

    fn desk_ray_origin(seat: &SeatSpec) -> Vec3 {
        Vec3::from(seat.position) + Vec3::Y * 0.05
    }

    /// The first box in front of seat `index` (a horizontal ray from the seat's base along
    /// its facing, within reach): where the ray enters and leaves it, the local axis of the
    /// face it leaves by, and the box.
    fn desk_in_front(&self, index: usize) -> Option<(f32, f32, usize, &BoxSpec)> {
        let seat = self.seats.get(index)?;
        let origin = Self::desk_ray_origin(seat);
        let dir = seat.facing();
        let mut best: Option<(f32, f32, usize, &BoxSpec)> = None;
        for b in &self.boxes {
            if origin.y <= b.min[1] || origin.y >= b.max[1] {
                continue;
            }
            let (o, d) = (b.to_local(origin), b.to_local_dir(dir));
            let (mut enter, mut exit, mut exit_axis) = (f32::MIN, f32::MAX, 0);
            let mut hit = true;
            for (axis, k) in [(0usize, 0usize), (2, 2)] {
                let (lo, hi) = (b.min[k], b.max[k]);
                let (o, d) = (o[axis], d[axis]);
                if d.abs() < 1e-6 {
                    hit &= o > lo && o < hi;
                    continue;
                }
                let (t0, t1) = ((lo - o) / d, (hi - o) / d);
                enter = enter.max(t0.min(t1));
                if t0.max(t1) < exit {
                    exit = t0.max(t1);
                    exit_axis = axis;
                }
            }
            let nearer = best.is_none_or(|(t, ..)| enter < t);
            if hit && enter > 0.0 && enter < exit && enter < NAMEPLATE_REACH && nearer {
                best = Some((enter, exit, exit_axis, b));
            }
        }
        best
    }

    /// A soft shadow's quad on the top of the desk in front of seat `index`, where the seated
    /// person meets it: corners bottom-left, bottom-right, top-left, top-right, with the top
    /// edge against the person and the bottom edge towards the room. `None` without a desk.
    pub fn contact_shadow(&self, index: usize) -> Option<[Vec3; 4]> {
        let seat = self.seats.get(index)?;
        let (enter, exit, _, b) = self.desk_in_front(index)?;
        let (o, d) = (
            b.to_local(Self::desk_ray_origin(seat)),
            b.to_local_dir(seat.facing()),
        );
        let d = Vec3::new(d.x, 0.0, d.z).normalize_or_zero();
        let side = Vec3::new(-d.z, 0.0, d.x) * (seat.width * 0.36);
        let (near, far) = (enter, enter + 0.45f32.min(exit - enter));
        let at = |t: f32, s: f32| {
            let mut p = o + d * t + side * s;
            p.y = b.max[1] + 0.004;
            b.to_world(p)
        };
        Some([at(far, -1.0), at(far, 1.0), at(near, -1.0), at(near, 1.0)])
    }

    /// Where seat `index`'s nameplate stands: the seat's `nameplate` if the file gives one,
    /// else on the front face of the first box in front of the seat (a horizontal ray from the
    /// seat's base along its facing), near the face's top, just proud of it. Where that box's
    /// far face does not face the room the way the seat does, or the box is deep (a shared
    /// table), the plaque stands on the box's top just in front of the seat instead, like a
    /// desk card. `None` if nothing stands in front of the seat.
    pub fn nameplate(&self, index: usize) -> Option<NameplateSpec> {
        let seat = self.seats.get(index)?;
        if seat.nameplate.is_some() {
            return seat.nameplate;
        }
        let (origin, dir) = (Self::desk_ray_origin(seat), seat.facing());
        let (enter, exit, axis, b) = self.desk_in_front(index)?;
        let (o, d) = (b.to_local(origin), b.to_local_dir(dir));
        let top = b.max[1];
        let face_normal = {
            let mut n = Vec3::ZERO;
            n[axis] = d[axis].signum();
            n
        };
        let along = if axis == 0 { 2 } else { 0 };
        let face_len = b.max[along] - b.min[along];
        let front_faces_room = face_normal.dot(d) > 0.7 && exit - enter <= 0.8;
        let (center_local, normal_local, width, height) = if front_faces_room {
            let face_h = top - b.min[1];
            let height = NAMEPLATE_MAX.1.min(face_h * 0.8);
            let width = NAMEPLATE_MAX.0.min(face_len * 0.92);
            let margin = 0.025f32.min((face_h - height) / 2.0);
            let mut c = o + d * exit;
            let half = width / 2.0;
            c[along] = c[along].clamp(b.min[along] + half, b.max[along] - half);
            c[axis] += face_normal[axis] * 0.006;
            c.y = top - margin - height / 2.0;
            (c, face_normal, width, height)
        } else {
            let height = NAMEPLATE_MAX.1 * 0.8;
            let width = NAMEPLATE_MAX.0 * 0.7;
            let mut c = o + d * (enter + 0.2f32.min((exit - enter) / 2.0));
            c.y = top + height / 2.0 + 0.005;
            (
                c,
                Vec3::new(d.x, 0.0, d.z).normalize_or_zero(),
                width,
                height,
            )
        };
        let center = b.to_world(center_local);
        let normal = b.to_world_dir(normal_local);
        Some(NameplateSpec {
            center: center.into(),
            yaw_deg: normal.x.atan2(normal.z).to_degrees(),
            width,
            height,
        })
    }

    /// Each seat's nameplate region on screen (zero-sized where a seat has no nameplate).
    pub fn nameplate_boxes(&self, width: u32, height: u32) -> Vec<ScreenBox> {
        let plates: Vec<Option<[Vec3; 4]>> = (0..self.seats.len())
            .map(|i| self.nameplate(i).map(|n| n.corners()))
            .collect();
        let mut i = 0;
        let mut boxes = self.project(width, height, |_| {
            let c = plates[i].unwrap_or_default();
            i += 1;
            c
        });
        for (b, p) in boxes.iter_mut().zip(&plates) {
            if p.is_none() {
                *b = ScreenBox {
                    x: 0,
                    y: 0,
                    w: 0,
                    h: 0,
                };
            }
        }
        boxes
    }

    /// Where each seated head appears on screen, for a person framed as a webcam frames them
    /// (head in the upper middle of the picture).
    pub fn head_boxes(&self, width: u32, height: u32) -> Vec<ScreenBox> {
        self.project(width, height, |seat| seat.head_corners())
    }

    fn project(
        &self,
        width: u32,
        height: u32,
        mut corners: impl FnMut(&SeatSpec) -> [Vec3; 4],
    ) -> Vec<ScreenBox> {
        let vp = self.view_proj(width as f32 / height as f32);
        let eye = Vec3::from(self.camera.eye);
        self.seats
            .iter()
            .map(|seat| {
                let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
                // A seat behind the camera is not on screen.
                let forward = (Vec3::from(self.camera.target) - eye).normalize();
                if (Vec3::from(seat.position) - eye).dot(forward) <= 0.1 {
                    return ScreenBox {
                        x: 0,
                        y: 0,
                        w: 0,
                        h: 0,
                    };
                }
                for corner in corners(seat) {
                    let clip = vp * Vec4::from((corner, 1.0));
                    let ndc = clip.truncate() / clip.w.max(1e-6);
                    let px = (ndc.x * 0.5 + 0.5) * width as f32;
                    let py = (0.5 - ndc.y * 0.5) * height as f32;
                    x0 = x0.min(px);
                    y0 = y0.min(py);
                    x1 = x1.max(px);
                    y1 = y1.max(py);
                }
                let clamp_x = |v: f32| v.clamp(0.0, width as f32) as u32;
                let clamp_y = |v: f32| v.clamp(0.0, height as f32) as u32;
                let (x, y) = (clamp_x(x0), clamp_y(y0));
                ScreenBox {
                    x,
                    y,
                    w: clamp_x(x1) - x,
                    h: clamp_y(y1) - y,
                }
            })
            .collect()
    }
}

impl BoxSpec {
    fn centre_xz(&self) -> Vec3 {
        Vec3::new(
            (self.min[0] + self.max[0]) / 2.0,
            0.0,
            (self.min[2] + self.max[2]) / 2.0,
        )
    }

    /// World point → the box's unrotated frame (inverse of `boxes_mesh`'s turn).
    fn to_local(&self, p: Vec3) -> Vec3 {
        self.centre_xz() + self.to_local_dir(p - self.centre_xz())
    }

    fn to_local_dir(&self, v: Vec3) -> Vec3 {
        let (sin, cos) = self.yaw_deg.to_radians().sin_cos();
        Vec3::new(v.x * cos - v.z * sin, v.y, v.x * sin + v.z * cos)
    }

    fn to_world(&self, p: Vec3) -> Vec3 {
        self.centre_xz() + self.to_world_dir(p - self.centre_xz())
    }

    fn to_world_dir(&self, v: Vec3) -> Vec3 {
        let (sin, cos) = self.yaw_deg.to_radians().sin_cos();
        Vec3::new(v.x * cos + v.z * sin, v.y, -v.x * sin + v.z * cos)
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
    fn presiding_judge_sits_in_the_middle_of_the_bench_between_the_assessors() {
        let l = shipped();
        let boxes = l.screen_boxes(1280, 720);
        let centre = |id: &str| {
            let b = boxes[l.seat_index(id).unwrap()];
            (b.x + b.w / 2) as i32
        };
        let judge = centre("presiding_judge");
        assert!((judge - 640).abs() < 40, "judge centred, got {judge}");
        assert!(centre("assessor_left") < judge && judge < centre("assessor_right"));
        // Plaintiff and defendant face each other from opposite sides.
        assert!(centre("plaintiff") < 640 && centre("defendant") > 640);
    }

    #[test]
    fn every_head_is_on_screen_and_no_two_heads_overlap() {
        let l = shipped();
        let heads = l.head_boxes(1280, 720);
        for (seat, b) in l.seats.iter().zip(&heads) {
            assert!(
                b.x > 0 && b.y > 0 && b.x + b.w < 1280 && b.y + b.h < 720,
                "head of {} leaves the frame: {b:?}",
                seat.id
            );
            assert!(b.w > 20 && b.h > 20, "head of {} too small: {b:?}", seat.id);
        }
        for (i, a) in heads.iter().enumerate() {
            for (j, b) in heads.iter().enumerate().skip(i + 1) {
                let ox = (a.x + a.w).min(b.x + b.w).saturating_sub(a.x.max(b.x));
                let oy = (a.y + a.h).min(b.y + b.h).saturating_sub(a.y.max(b.y));
                assert_eq!(
                    ox * oy,
                    0,
                    "heads of {} and {} overlap",
                    l.seats[i].id,
                    l.seats[j].id
                );
            }
        }
    }

    #[test]
    fn every_seated_head_is_legible_in_the_wide_view_of_every_shipped_layout() {
        for name in ["courtroom", "mediation"] {
            let l = Layout::load(&crate::config::default_assets_dir(), name).unwrap();
            for ((w, h), min) in [((1280, 720), 60), ((1920, 1080), 90)] {
                for (seat, b) in l.seats.iter().zip(l.head_boxes(w, h)) {
                    assert!(b.h >= min, "{name}/{}: head {} px at {w}x{h}", seat.id, b.h);
                }
            }
        }
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
