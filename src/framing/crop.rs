//! From a detected face to the crop of the camera frame that a seat's billboard shows.
//!
//! Pure arithmetic, no OpenCV. [`crop_for_face`] is the crop that puts a face's head exactly on
//! the seat's head box; [`Framer`] follows that crop over time: a critically damped spring
//! (continuous position and speed, so no jumps), a dead zone so face jitter does not move it,
//! and a slow return to the default crop when the face is lost.
//!
//! All coordinates are frame uv: 0..1 across the frame's width and height, y down, as the seat
//! shader samples them. A crop is `[x, y, w, h]` (offset and scale), like
//! [`fit_crop`](crate::render::layout::fit_crop).

use std::time::{Duration, Instant};

use crate::render::layout::{fit_crop, SeatSpec, HEAD_REGION};

/// A rectangle in frame uv: top-left corner and size, fractions of the frame's width and
/// height, y down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormRect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl NormRect {
    /// The centre point `[x, y]`.
    pub fn centre(&self) -> [f32; 2] {
        [self.x + self.w / 2.0, self.y + self.h / 2.0]
    }
}

/// Height of a whole head (crown to chin) per height of a frontal-face cascade's box (brows
/// to chin, roughly): the cascade box leaves out the forehead and hair.
pub const HEAD_PER_FACE: f32 = 1.3;
/// How far the head's centre sits above the face box's centre, in face-box heights.
pub const HEAD_RISE: f32 = 0.1;
/// The most a crop magnifies the frame, relative to the default (whole-frame) crop.
pub const MAX_ZOOM: f32 = 2.5;
/// Time constant of the crop's spring (1/ω of a critically damped spring): a step is half
/// done after about 1.2 s and 95% done after about 3.3 s.
pub const SMOOTHING: Duration = Duration::from_millis(700);
/// A face unseen for longer than this lets the crop ease back to the default.
pub const LOST_AFTER: Duration = Duration::from_secs(3);
/// Dead zone for moves: a new target whose centre is within this share of the current
/// goal's width (sideways) or height (up and down) does not move the goal.
pub const DEAD_ZONE_SHIFT: f32 = 0.05;
/// Dead zone for size: a new target whose height differs from the goal's by less than this
/// share does not move the goal.
pub const DEAD_ZONE_SCALE: f32 = 0.08;

/// What one search of a seat gave, as its [`Framer`] took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// A face, and the crop moves to it (or starts on it).
    Moved,
    /// A face within the crop's dead zone: the crop stays.
    Steady,
    /// No face.
    Missed,
}

/// Where a seat wants the head inside its billboard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeatTarget {
    /// Head centre in billboard uv (`[u, v]`, v down from the billboard's top).
    pub head_centre: [f32; 2],
    /// Head height as a share of the billboard's height.
    pub head_height: f32,
    /// Billboard aspect, width over height.
    pub aspect: f32,
}

impl SeatTarget {
    /// The head box of [`HEAD_REGION`] (where a webcam-framed head falls, the box
    /// [`SeatSpec::head_corners`] places in the room) on a billboard of aspect `aspect`.
    pub fn from_head_region(aspect: f32) -> Self {
        let (u0, u1, v0, v1) = HEAD_REGION;
        Self {
            // HEAD_REGION's v runs up from the billboard's bottom; frame uv runs down.
            head_centre: [(u0 + u1) / 2.0, 1.0 - (v0 + v1) / 2.0],
            head_height: v1 - v0,
            aspect,
        }
    }

    /// The target of a layout seat: its head region on its billboard.
    pub fn for_seat(seat: &SeatSpec) -> Self {
        Self::from_head_region(seat.width / seat.height)
    }
}

/// The crop that puts `face`'s head at the seat's head box: its centre on
/// [`SeatTarget::head_centre`] and its height [`SeatTarget::head_height`] of the billboard.
/// The crop has the billboard's aspect (in pixels), magnifies at most [`MAX_ZOOM`], never shows
/// more than the default crop, and stays inside the frame (near an edge the head lands off
/// target rather than the crop leaving the picture).
pub fn crop_for_face(face: NormRect, frame_aspect: f32, target: &SeatTarget) -> [f32; 4] {
    let head_h = face.h * HEAD_PER_FACE;
    let [hx, fy] = face.centre();
    let hy = fy - HEAD_RISE * face.h;
    let full = fit_crop(frame_aspect, target.aspect);
    let h = (head_h / target.head_height).clamp(full[3] / MAX_ZOOM, full[3]);
    let w = h * full[2] / full[3];
    let x = hx - target.head_centre[0] * w;
    let y = hy - target.head_centre[1] * h;
    [
        x.clamp(0.0, (1.0 - w).max(0.0)),
        y.clamp(0.0, (1.0 - h).max(0.0)),
        w,
        h,
    ]
}

/// A crop as the spring moves it: centre and height (the width follows from the aspects).
type Pose = [f32; 3];

fn pose_of(crop: [f32; 4]) -> Pose {
    [crop[0] + crop[2] / 2.0, crop[1] + crop[3] / 2.0, crop[3]]
}

/// One critically damped spring per pose component, stopped at its goal when at rest.
#[derive(Debug, Clone, Copy)]
struct Spring {
    /// Position and speed (per second) at `since`.
    pos: Pose,
    vel: Pose,
    since: Instant,
    goal: Pose,
}

impl Spring {
    fn at_rest(pose: Pose, now: Instant) -> Self {
        Self {
            pos: pose,
            vel: [0.0; 3],
            since: now,
            goal: pose,
        }
    }

    /// Position and speed at `now` (no earlier than `since`).
    fn eval(&self, now: Instant) -> (Pose, Pose) {
        let omega = 1.0 / SMOOTHING.as_secs_f32();
        let t = now.saturating_duration_since(self.since).as_secs_f32();
        let decay = (-omega * t).exp();
        let mut pos = [0.0; 3];
        let mut vel = [0.0; 3];
        for k in 0..3 {
            let e = self.pos[k] - self.goal[k];
            let c = self.vel[k] + omega * e;
            pos[k] = self.goal[k] + (e + c * t) * decay;
            vel[k] = (self.vel[k] - omega * c * t) * decay;
        }
        (pos, vel)
    }

    /// Moves the goal at `now`, keeping position and speed continuous.
    fn retarget(&mut self, goal: Pose, now: Instant) {
        let (pos, vel) = self.eval(now);
        *self = Self {
            pos,
            vel,
            since: now.max(self.since),
            goal,
        };
    }
}

/// One seat's framing over time: feed it each detection with [`Framer::observe`] (about 2 Hz)
/// and read the smoothed crop for any instant with [`Framer::crop`] (every tick).
#[derive(Debug, Clone)]
pub struct Framer {
    target: SeatTarget,
    /// The frame aspect the spring works in; a new camera shape starts over.
    frame_aspect: Option<f32>,
    spring: Option<Spring>,
    last_face: Option<(Instant, NormRect)>,
}

impl Framer {
    /// A framer for a seat; it shows the default crop until it sees a face.
    pub fn new(target: SeatTarget) -> Self {
        Self {
            target,
            frame_aspect: None,
            spring: None,
            last_face: None,
        }
    }

    /// The seat's target.
    pub fn target(&self) -> &SeatTarget {
        &self.target
    }

    /// The most recent face seen, if it is not older than [`LOST_AFTER`] at `now`.
    pub fn face(&self, now: Instant) -> Option<NormRect> {
        self.last_face
            .filter(|(at, _)| now.saturating_duration_since(*at) <= LOST_AFTER)
            .map(|(_, f)| f)
    }

    /// Takes one detection on a frame of aspect `frame_aspect` (width over height) made at
    /// `now`: `None` when no face was found. Says whether the crop moved for it (or started
    /// over), stayed, or no face was found ([`Cadence`](super::Cadence) reads it).
    pub fn observe(&mut self, face: Option<NormRect>, frame_aspect: f32, now: Instant) -> Search {
        let home = pose_of(fit_crop(frame_aspect, self.target.aspect));
        let same_shape = self
            .frame_aspect
            .is_some_and(|a| (a - frame_aspect).abs() <= 1e-3 * a);
        let started = !(same_shape && self.spring.is_some());
        let spring = match self.spring.as_mut() {
            Some(s) if same_shape => s,
            _ => {
                // First frame, or a new camera shape: start still on the default crop.
                self.frame_aspect = Some(frame_aspect);
                self.last_face = None;
                self.spring.insert(Spring::at_rest(home, now))
            }
        };
        match face {
            Some(f) => {
                self.last_face = Some((now, f));
                let want = pose_of(crop_for_face(f, frame_aspect, &self.target));
                if outside_dead_zone(want, spring.goal, frame_aspect, self.target.aspect) {
                    spring.retarget(want, now);
                    Search::Moved
                } else if started {
                    Search::Moved
                } else {
                    Search::Steady
                }
            }
            None => {
                let lost = self
                    .last_face
                    .is_none_or(|(at, _)| now.saturating_duration_since(at) > LOST_AFTER);
                if lost && spring.goal != home {
                    spring.retarget(home, now);
                }
                Search::Missed
            }
        }
    }

    /// The smoothed crop `[x, y, w, h]` at `now`, inside the frame; `None` before the first
    /// [`Framer::observe`] (show the default crop then).
    pub fn crop(&self, now: Instant) -> Option<[f32; 4]> {
        let (spring, aspect) = (self.spring?, self.frame_aspect?);
        let (pose, _) = spring.eval(now);
        let full = fit_crop(aspect, self.target.aspect);
        let h = pose[2].clamp(full[3] / MAX_ZOOM, full[3]);
        let w = h * full[2] / full[3];
        let x = (pose[0] - w / 2.0).clamp(0.0, (1.0 - w).max(0.0));
        let y = (pose[1] - h / 2.0).clamp(0.0, (1.0 - h).max(0.0));
        Some([x, y, w, h])
    }
}

/// Whether `want` is far enough from `goal` to move the goal.
fn outside_dead_zone(want: Pose, goal: Pose, frame_aspect: f32, seat_aspect: f32) -> bool {
    let full = fit_crop(frame_aspect, seat_aspect);
    let goal_w = goal[2] * full[2] / full[3];
    (want[0] - goal[0]).abs() > DEAD_ZONE_SHIFT * goal_w
        || (want[1] - goal[1]).abs() > DEAD_ZONE_SHIFT * goal[2]
        || (want[2] / goal[2] - 1.0).abs() > DEAD_ZONE_SCALE
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: f32 = 640.0 / 480.0;

    fn target() -> SeatTarget {
        SeatTarget::from_head_region(0.75)
    }

    /// A square (in pixels) face box of `size` px in a 640×480 frame with its top-left at
    /// `(x, y)` px.
    fn face_px(x: f32, y: f32, size: f32) -> NormRect {
        NormRect {
            x: x / 640.0,
            y: y / 480.0,
            w: size / 640.0,
            h: size / 480.0,
        }
    }

    /// Where the face's head lands in billboard uv under `crop`: centre and height share.
    fn head_in_billboard(face: NormRect, crop: [f32; 4]) -> ([f32; 2], f32) {
        let [hx, fy] = face.centre();
        let hy = fy - HEAD_RISE * face.h;
        (
            [(hx - crop[0]) / crop[2], (hy - crop[1]) / crop[3]],
            face.h * HEAD_PER_FACE / crop[3],
        )
    }

    fn dist(a: [f32; 4], b: [f32; 4]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f32::max)
    }

    fn settled(framer: &mut Framer, face: Option<NormRect>, t0: Instant) -> Instant {
        let mut t = t0;
        for _ in 0..40 {
            framer.observe(face, FRAME, t);
            t += Duration::from_millis(500);
        }
        t
    }

    #[test]
    fn each_search_says_whether_the_crop_moved() {
        let t0 = Instant::now();
        let mut framer = Framer::new(target());
        let face = face_px(380.0, 190.0, 60.0);
        assert_eq!(
            framer.observe(Some(face), FRAME, t0),
            Search::Moved,
            "first"
        );
        assert_eq!(framer.observe(Some(face), FRAME, t0), Search::Steady);
        assert_eq!(framer.observe(None, FRAME, t0), Search::Missed);
        assert_eq!(
            framer.observe(Some(face), 16.0 / 9.0, t0),
            Search::Moved,
            "a new camera shape starts over"
        );
    }

    #[test]
    fn target_is_the_layouts_head_box() {
        let t = target();
        let (u0, u1, v0, v1) = HEAD_REGION;
        assert!((t.head_centre[0] - (u0 + u1) / 2.0).abs() < 1e-6);
        // Up from the bottom in the layout, down from the top in uv.
        assert!((1.0 - t.head_centre[1] - (v0 + v1) / 2.0).abs() < 1e-6);
        assert!((t.head_height - (v1 - v0)).abs() < 1e-6);
    }

    #[test]
    fn small_off_centre_face_lands_on_the_target() {
        let t = target();
        let face = face_px(380.0, 190.0, 60.0);
        let crop = crop_for_face(face, FRAME, &t);
        let (centre, height) = head_in_billboard(face, crop);
        assert!((centre[0] - t.head_centre[0]).abs() < 1e-4, "{centre:?}");
        assert!((centre[1] - t.head_centre[1]).abs() < 1e-4, "{centre:?}");
        assert!((height - t.head_height).abs() < 1e-4, "{height}");
        // The crop has the billboard's shape in pixels and lies inside the frame.
        let aspect = crop[2] * 640.0 / (crop[3] * 480.0);
        assert!((aspect - t.aspect).abs() < 1e-4, "{aspect}");
        assert!(crop[0] >= 0.0 && crop[1] >= 0.0);
        assert!(crop[0] + crop[2] <= 1.0 + 1e-6 && crop[1] + crop[3] <= 1.0 + 1e-6);
    }

    #[test]
    fn zoom_is_bounded_both_ways() {
        let t = target();
        let full = fit_crop(FRAME, t.aspect);
        // A face far from the camera: magnified no more than MAX_ZOOM.
        let tiny = crop_for_face(face_px(300.0, 200.0, 8.0), FRAME, &t);
        assert!((full[3] / tiny[3] - MAX_ZOOM).abs() < 1e-4, "{tiny:?}");
        // A face right at the lens: never more than the default crop.
        let huge = crop_for_face(face_px(150.0, 20.0, 400.0), FRAME, &t);
        assert!((huge[3] - full[3]).abs() < 1e-6 && (huge[2] - full[2]).abs() < 1e-6);
    }

    #[test]
    fn faces_at_the_edges_clamp_inside_the_frame() {
        let t = target();
        for face in [
            face_px(0.0, 0.0, 70.0),
            face_px(570.0, 0.0, 70.0),
            face_px(0.0, 410.0, 70.0),
            face_px(570.0, 410.0, 70.0),
        ] {
            let crop = crop_for_face(face, FRAME, &t);
            assert!(crop[0] >= 0.0 && crop[1] >= 0.0, "{crop:?}");
            assert!(crop[0] + crop[2] <= 1.0 + 1e-6, "{crop:?}");
            assert!(crop[1] + crop[3] <= 1.0 + 1e-6, "{crop:?}");
            // Still zoomed for the face (clamped, not shrunk back to the whole frame).
            assert!(crop[3] < 0.99, "{crop:?}");
            // The face is still in the crop.
            let c = face.centre();
            assert!(c[0] >= crop[0] && c[0] <= crop[0] + crop[2], "{crop:?}");
            assert!(c[1] >= crop[1] && c[1] <= crop[1] + crop[3], "{crop:?}");
        }
    }

    #[test]
    fn framer_starts_on_the_default_and_settles_on_the_face() {
        let t0 = Instant::now();
        let mut framer = Framer::new(target());
        assert!(framer.crop(t0).is_none());
        framer.observe(None, FRAME, t0);
        let home = fit_crop(FRAME, 0.75);
        assert!(dist(framer.crop(t0).unwrap(), home) < 1e-6);
        let face = face_px(380.0, 190.0, 60.0);
        let t = settled(&mut framer, Some(face), t0);
        let want = crop_for_face(face, FRAME, &target());
        assert!(dist(framer.crop(t).unwrap(), want) < 1e-4);
    }

    #[test]
    fn jitter_inside_the_dead_zone_leaves_the_crop_still() {
        let t0 = Instant::now();
        let mut framer = Framer::new(target());
        let face = face_px(380.0, 190.0, 60.0);
        let mut t = settled(&mut framer, Some(face), t0);
        let still = framer.crop(t).unwrap();
        // ±2 px of position and ±2 px of size: what a cascade's boxes do on a still person.
        for (i, (dx, ds)) in [(2.0, 0.0), (-2.0, 2.0), (1.0, -2.0), (0.0, 1.0)]
            .into_iter()
            .cycle()
            .take(20)
            .enumerate()
        {
            let jittered = face_px(380.0 + dx, 190.0 - dx, 60.0 + ds);
            assert_eq!(
                framer.observe(Some(jittered), FRAME, t),
                Search::Steady,
                "update {i}"
            );
            t += Duration::from_millis(500);
            let now = framer.crop(t).unwrap();
            assert!(dist(now, still) < 1e-5, "update {i}: {now:?} vs {still:?}");
        }
    }

    #[test]
    fn a_jump_moves_smoothly_without_steps() {
        let t0 = Instant::now();
        let mut framer = Framer::new(target());
        let from = face_px(120.0, 150.0, 60.0);
        let to = face_px(460.0, 220.0, 100.0);
        let mut t = settled(&mut framer, Some(from), t0);
        let start = framer.crop(t).unwrap();
        let end = crop_for_face(to, FRAME, &target());
        let span = dist(start, end);
        assert!(span > 0.2, "the test needs a big jump: {span}");
        let tick = Duration::from_secs(1) / 30;
        let mut prev = start;
        let mut biggest = 0.0f32;
        for i in 0..300 {
            if i % 15 == 0 {
                let seen = framer.observe(Some(to), FRAME, t);
                // The jump moves the crop once; the same face again leaves it going there.
                let expected = if i == 0 {
                    Search::Moved
                } else {
                    Search::Steady
                };
                assert_eq!(seen, expected, "search at tick {i}");
            }
            t += tick;
            let now = framer.crop(t).unwrap();
            let step = dist(now, prev);
            if i == 0 {
                // Starts from rest: the first tick barely moves.
                assert!(step < 0.002 * span, "first step {step}");
            }
            biggest = biggest.max(step);
            prev = now;
        }
        // A critically damped spring's top speed is ω·span/e; at 30 ticks/s that is under
        // 2% of the span per tick.
        assert!(biggest < 0.02 * span, "largest step {biggest} of {span}");
        assert!(
            dist(prev, end) < 0.01 * span,
            "arrived at {prev:?}, want {end:?}"
        );
    }

    #[test]
    fn a_lost_face_holds_then_eases_back_to_the_default() {
        let t0 = Instant::now();
        let mut framer = Framer::new(target());
        let face = face_px(420.0, 120.0, 50.0);
        let lost_at = settled(&mut framer, Some(face), t0);
        let framed = framer.crop(lost_at).unwrap();
        let home = fit_crop(FRAME, 0.75);
        let mut t = lost_at;
        let mut prev = framed;
        let tick = Duration::from_millis(100);
        while t < lost_at + Duration::from_secs(15) {
            if (t - lost_at).as_millis() % 500 == 0 {
                framer.observe(None, FRAME, t);
            }
            t += tick;
            let now = framer.crop(t).unwrap();
            if t - lost_at <= LOST_AFTER {
                assert!(
                    dist(now, framed) < 1e-5,
                    "moved while briefly lost: {now:?}"
                );
            }
            assert!(
                dist(now, prev) < 0.1 * dist(framed, home),
                "jumped to {now:?}"
            );
            prev = now;
        }
        assert!(dist(prev, home) < 1e-3, "{prev:?} vs {home:?}");
        assert!(framer.face(t).is_none());
    }

    #[test]
    fn a_new_camera_shape_starts_over_on_its_default() {
        let t0 = Instant::now();
        let mut framer = Framer::new(target());
        let t = settled(&mut framer, Some(face_px(420.0, 120.0, 50.0)), t0);
        let wide = 16.0 / 9.0;
        framer.observe(None, wide, t);
        assert!(dist(framer.crop(t).unwrap(), fit_crop(wide, 0.75)) < 1e-6);
    }
}
