//! What stands in front of a seat: the desk a seated person meets, found by a horizontal ray
//! from the seat's base, which carries the seat's nameplate ([`Layout::nameplate`]) and its
//! contact shadow ([`Layout::contact_shadow`]).

use glam::Vec3;

use super::layout::{BoxSpec, Layout, PanelSpec, SeatSpec};

/// Largest nameplate, metres (width, height): legible in the wide view, smaller than a desk.
const NAMEPLATE_MAX: (f32, f32) = (0.8, 0.26);
/// How far in front of its seat a desk may stand and still carry the seat's nameplate.
const NAMEPLATE_REACH: f32 = 2.0;

impl Layout {
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
    pub fn nameplate(&self, index: usize) -> Option<PanelSpec> {
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
        Some(PanelSpec {
            center: center.into(),
            yaw_deg: normal.x.atan2(normal.z).to_degrees(),
            width,
            height,
        })
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
