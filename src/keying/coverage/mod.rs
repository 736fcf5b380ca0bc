//! Where in a camera frame the person is: the rows of tiles in which the keyer could keep
//! anything, found once per frame on the CPU, so that the compositor draws (and so keys) only
//! those parts of a seat's billboard. Most of a webcam frame is bare screen, and on a software
//! rasteriser every billboard pixel pays for the keyer's first steps even where it keeps
//! nothing.
//!
//! The test is the keyer's own (`shaders/keyer.wgsl`: `key_distance`, `key_luma_residual`)
//! run on each 4:2:0 chroma site with the luma of each pixel of its 2×2 block, against the
//! screen model at the tile's centre, and with a margin: a site counts as possibly subject
//! when its distances from the screen pass three quarters (the luma residual: half) of those at
//! which the keyer's alpha reaches what the seat shader draws (0.02), less what the screen
//! model varies across the tile. Each row's span
//! runs from its first to its last such tile, and is then widened by a tile on every side
//! (the keyer upsamples chroma from the neighbouring sites). A pixel the keyer keeps (alpha of
//! at least 0.02, the seat shader's cut) lies inside the rows; the unit test checks this
//! against the key pass itself.
//!
//! Sans I/O: planes and parameters in, rectangles out.

use super::params::{KeyParams, ScreenModel};

/// Side of a tile in luma pixels.
pub const TILE: u32 = 16;

/// The smallest alpha the seat shader draws (`participant.wgsl` discards less).
const DRAWN_ALPHA: f32 = 0.02;

/// A site counts as possibly subject at this share of the distances at which the keyer
/// would draw it: the margin for what a pixel takes from its neighbouring sites.
const MARGIN: f32 = 0.75;

/// A part of the frame in uv (0..1 from the top left): `[u0, v0, u1, v1]`.
pub type UvRect = [f32; 4];

/// The whole frame: what a seat draws when nothing is known of where the person is.
pub const WHOLE_FRAME: UvRect = [0.0, 0.0, 1.0, 1.0];

/// The most rectangles [`subject_rows`] returns for a frame `height` pixels high (one per row
/// of tiles).
pub fn max_rects(height: u32) -> usize {
    height.div_ceil(TILE).max(1) as usize
}

/// The parts of a `width × height` frame the keyer could keep anything in, one rectangle per
/// run of tile rows with the same span, top to bottom; empty when the frame is all screen.
/// `luma` is the frame's luma plane and `sites` its packed chroma sites
/// ([`super::planes::pack_sites`], four bytes each), both as the keyer reads them (after any
/// smoothing over time); `key` is the seat's keying.
pub fn subject_rows(
    luma: &[u8],
    sites: &[u8],
    (width, height): (u32, u32),
    key: &KeyParams,
) -> Vec<UvRect> {
    let planes = Planes {
        luma,
        sites,
        width: width as usize,
        height: height as usize,
        chroma_width: width.div_ceil(2) as usize,
        chroma_height: height.div_ceil(2) as usize,
    };
    if luma.len() < planes.width * planes.height
        || sites.len() < planes.chroma_width * planes.chroma_height * 4
    {
        // Not the planes of this size: draw everything rather than guess.
        return vec![WHOLE_FRAME];
    }
    let test = SiteTest::new(key);
    let (cols, rows) = (width.div_ceil(TILE), height.div_ceil(TILE));
    let spans: Vec<Option<(u32, u32)>> = (0..rows)
        .map(|row| {
            let subject = |col: u32| planes.tile_has_subject(col, row, &test);
            let left = (0..cols).find(|&c| subject(c))?;
            let right = (left..cols).rev().find(|&c| subject(c)).unwrap_or(left);
            Some((left, right))
        })
        .collect();
    let widened = widen(&spans, cols);
    to_rects(&widened, width, height, &key.garbage)
}

/// Each row's span joined with its neighbours' and grown by a tile each way.
fn widen(spans: &[Option<(u32, u32)>], cols: u32) -> Vec<Option<(u32, u32)>> {
    (0..spans.len())
        .map(|row| {
            let near = row.saturating_sub(1)..=(row + 1).min(spans.len() - 1);
            spans[near]
                .iter()
                .flatten()
                .fold(None, |acc: Option<(u32, u32)>, &(l, r)| {
                    Some(acc.map_or((l, r), |(al, ar)| (al.min(l), ar.max(r))))
                })
                .map(|(l, r)| (l.saturating_sub(1), (r + 1).min(cols - 1)))
        })
        .collect()
}

/// Rows of tiles to uv rectangles, runs of equal spans merged, cut to the garbage matte (grown
/// by a pixel, as the keyer softens its border over one).
fn to_rects(
    spans: &[Option<(u32, u32)>],
    width: u32,
    height: u32,
    garbage: &[f32; 4],
) -> Vec<UvRect> {
    let (w, h) = (width as f32, height as f32);
    let edge = |tile: u32, size: u32| (tile * TILE).min(size) as f32;
    let [g0, g1, g2, g3] = *garbage;
    let matte = [g0 - 1.0 / w, g1 - 1.0 / h, g2 + 1.0 / w, g3 + 1.0 / h];
    let mut rects: Vec<UvRect> = Vec::new();
    let mut last: Option<(u32, u32)> = None;
    for (row, span) in spans.iter().enumerate() {
        let Some((l, r)) = *span else {
            last = None;
            continue;
        };
        let v1 = edge(row as u32 + 1, height) / h;
        if last == Some((l, r)) {
            rects.last_mut().expect("a run is open")[3] = v1;
        } else {
            let v0 = edge(row as u32, height) / h;
            rects.push([edge(l, width) / w, v0, edge(r + 1, width) / w, v1]);
        }
        last = Some((l, r));
    }
    rects
        .into_iter()
        .filter_map(|[u0, v0, u1, v1]| {
            let cut = [
                u0.max(matte[0]),
                v0.max(matte[1]),
                u1.min(matte[2]),
                v1.min(matte[3]),
            ];
            (cut[0] < cut[2] && cut[1] < cut[3]).then_some(cut)
        })
        .collect()
}

/// A frame's planes as the keyer reads them.
struct Planes<'a> {
    luma: &'a [u8],
    sites: &'a [u8],
    width: usize,
    height: usize,
    chroma_width: usize,
    chroma_height: usize,
}

impl Planes<'_> {
    /// Whether any chroma site of the tile at (`col`, `row`) is possibly subject.
    fn tile_has_subject(&self, col: u32, row: u32, test: &SiteTest) -> bool {
        let half = (TILE / 2) as usize;
        let (i0, j0) = (col as usize * half, row as usize * half);
        let (i1, j1) = (
            (i0 + half).min(self.chroma_width),
            (j0 + half).min(self.chroma_height),
        );
        let centre = [
            ((i0 + i1) as f32 / self.chroma_width as f32) * 0.5,
            ((j0 + j1) as f32 / self.chroma_height as f32) * 0.5,
        ];
        // The keyer reads the screen model at each pixel; the test reads it at the centre,
        // with slack for how far it moves towards the tile's corners.
        let corners = [
            [
                i0 as f32 / self.chroma_width as f32,
                j0 as f32 / self.chroma_height as f32,
            ],
            [
                i1 as f32 / self.chroma_width as f32,
                j0 as f32 / self.chroma_height as f32,
            ],
            [
                i0 as f32 / self.chroma_width as f32,
                j1 as f32 / self.chroma_height as f32,
            ],
            [
                i1 as f32 / self.chroma_width as f32,
                j1 as f32 / self.chroma_height as f32,
            ],
        ]
        .map(|uv| test.screen.at(uv));
        let tile = test.at(test.screen.at(centre), &corners);
        let w = self.width;
        if tile.surely_screen(&self.ranges(i0..i1, j0..j1)) {
            return false;
        }
        for j in j0..j1 {
            let (y0, y1) = (2 * j, (2 * j + 1).min(self.height - 1));
            let (r0, r1) = (
                &self.luma[y0 * w..y0 * w + w],
                &self.luma[y1 * w..y1 * w + w],
            );
            let sites =
                &self.sites[(j * self.chroma_width + i0) * 4..(j * self.chroma_width + i1) * 4];
            let mut any = false;
            if 2 * i1 <= w {
                let (l0, l1) = (&r0[2 * i0..2 * i1], &r1[2 * i0..2 * i1]);
                for ((p, q), s) in l0
                    .chunks_exact(2)
                    .zip(l1.chunks_exact(2))
                    .zip(sites.chunks_exact(4))
                {
                    let lo = p[0].min(p[1]).min(q[0].min(q[1]));
                    let hi = p[0].max(p[1]).max(q[0].max(q[1]));
                    any |= tile.possibly_subject(lo, hi, s[1], s[2]);
                }
            } else {
                // An odd width's last column: its blocks repeat the edge pixel.
                for (k, s) in sites.chunks_exact(4).enumerate() {
                    let x0 = 2 * (i0 + k);
                    let x1 = (x0 + 1).min(w - 1);
                    let (a, b, c, d) = (r0[x0], r0[x1], r1[x0], r1[x1]);
                    let lo = a.min(b).min(c.min(d));
                    let hi = a.max(b).max(c.max(d));
                    any |= tile.possibly_subject(lo, hi, s[1], s[2]);
                }
            }
            if any {
                return true;
            }
        }
        false
    }
}

impl Planes<'_> {
    /// The smallest and largest luma, Cb and Cr of the chroma sites `i` × `j` and their
    /// blocks' pixels, as bytes: `[luma, cb, cr]` each `(min, max)`.
    fn ranges(&self, i: std::ops::Range<usize>, j: std::ops::Range<usize>) -> [(u8, u8); 3] {
        let mut r = [(u8::MAX, 0u8); 3];
        let w = self.width;
        let (x0, x1) = (2 * i.start, (2 * i.end).min(w));
        for y in 2 * j.start..(2 * j.end).min(self.height) {
            for &v in &self.luma[y * w + x0..y * w + x1] {
                r[0] = (r[0].0.min(v), r[0].1.max(v));
            }
        }
        for row in j {
            let start = (row * self.chroma_width + i.start) * 4;
            let end = (row * self.chroma_width + i.end) * 4;
            for s in self.sites[start..end].chunks_exact(4) {
                r[1] = (r[1].0.min(s[1]), r[1].1.max(s[1]));
                r[2] = (r[2].0.min(s[2]), r[2].1.max(s[2]));
            }
        }
        r
    }
}

/// The screen model and the keyer's tolerances, from [`KeyParams::uniform`] as the shader
/// gets them.
struct SiteTest {
    screen: ScreenModel,
    /// The chroma distance past which a site is possibly subject.
    threshold: f32,
    /// The luma residual (beyond the keyer's tolerance) past which a site is.
    luma_threshold: f32,
    shade: f32,
    hue: f32,
    oversaturation: f32,
    luma: f32,
}

impl SiteTest {
    fn new(key: &KeyParams) -> Self {
        let u = key.uniform();
        Self {
            screen: key.model(),
            // keyer.wgsl's alpha is (d - inner) / (own - inner) from the chroma, with `own` at
            // least edge.y, or the luma residual over its own, at least luma.y: alpha reaches
            // DRAWN_ALPHA only past these.
            threshold: MARGIN * (u.matte[0] + DRAWN_ALPHA * (u.edge[1] - u.matte[0]).max(0.0)),
            // The luma path keeps half: a pixel takes its chroma (so its par) from the
            // neighbouring sites, and its luma residual follows par one to one.
            luma_threshold: 0.5 * DRAWN_ALPHA * u.luma[1],
            shade: u.matte[1],
            hue: u.matte[2],
            oversaturation: u.matte[3],
            luma: u.luma[0],
        }
    }

    /// The test against the bare screen's `(Y, Cb, Cr)` at a tile's centre, lowered by how
    /// far the screen at its `corners` is from it: a change of the screen's chroma by a share
    /// `e` of its own moves a pixel's par and perp by up to about `e`, and of its luma by a
    /// share `f` moves its relative luma by about `f`; the shrink moves by up to 2.5 times
    /// their sum (through par and the shade tolerance), the luma residual by their sum.
    fn at(&self, [y, cb, cr]: [f32; 3], corners: &[[f32; 3]; 4]) -> TileTest {
        let norm = (cb * cb + cr * cr).sqrt().max(1e-3);
        let slack = corners
            .iter()
            .map(|[cy, ccb, ccr]| (ccb - cb).hypot(ccr - cr) / norm + (cy - y).abs() / y.max(1e-3))
            .fold(0.0f32, f32::max);
        let inv_n2 = 1.0 / (cb * cb + cr * cr).max(1e-6);
        TileTest {
            cb: cb * inv_n2,
            cr: cr * inv_n2,
            inv_luma: 1.0 / y.max(1e-3),
            shade: self.shade,
            inv_shade: 1.0 / self.shade.max(1e-3),
            hue: self.hue,
            oversaturation: self.oversaturation,
            luma: self.luma,
            threshold: (self.threshold - 2.5 * slack).max(0.0),
            luma_threshold: self.luma_threshold - slack,
        }
    }
}

/// [`SiteTest`] where one tile is: the screen's chroma scaled by its inverse squared norm.
struct TileTest {
    cb: f32,
    cr: f32,
    inv_luma: f32,
    shade: f32,
    inv_shade: f32,
    hue: f32,
    oversaturation: f32,
    luma: f32,
    /// The chroma distance past which a site is possibly subject.
    threshold: f32,
    /// The luma residual (beyond the keyer's tolerance) past which a site is.
    luma_threshold: f32,
}

impl TileTest {
    /// Whether every site whose luma, Cb and Cr lie in `ranges` ([`Planes::ranges`]) is
    /// screen by [`TileTest::possibly_subject`]: a bound on its distances over the box, from
    /// its corners (par and perp are linear in chroma, so their extremes lie there; the
    /// shrink falls as par and the shade tolerance rise, and the tolerance is smallest where
    /// luma and par lie farthest apart). Most tiles of bare screen pass this and skip the
    /// test of each site.
    fn surely_screen(&self, [luma, cb, cr]: &[(u8, u8); 3]) -> bool {
        if luma.0 > luma.1 || cb.0 > cb.1 {
            return false;
        }
        let (mut par_min, mut par_max, mut perp_max) = (f32::MAX, f32::MIN, 0.0f32);
        for b in [cb.0, cb.1] {
            for r in [cr.0, cr.1] {
                let (b, r) = (norm_c(b), norm_c(r));
                let par = b * self.cb + r * self.cr;
                par_min = par_min.min(par);
                par_max = par_max.max(par);
                perp_max = perp_max.max((b * self.cr - r * self.cb).abs());
            }
        }
        if par_min < 0.0 {
            return false;
        }
        let (ly_lo, ly_hi) = (
            norm_y(luma.0) * self.inv_luma,
            norm_y(luma.1) * self.inv_luma,
        );
        let apart = (ly_lo - par_min)
            .abs()
            .max((ly_lo - par_max).abs())
            .max((ly_hi - par_min).abs())
            .max((ly_hi - par_max).abs());
        if apart - self.luma > self.luma_threshold {
            return false;
        }
        let tol = self.shade * (1.0 - apart * self.inv_shade).clamp(0.0, 1.0);
        let shrink = (1.0 - par_min - tol).max(0.0) / (1.0 - tol);
        let hue = (perp_max - self.hue).max(0.0);
        let grow = (par_max - 1.0 - self.oversaturation).max(0.0);
        shrink * shrink + hue * hue + grow * grow <= self.threshold * self.threshold
    }

    /// `key_distance` and `key_luma_residual` of keyer.wgsl, against the margin, for a site
    /// of chroma `cb`, `cr` whose block's luma runs from `lo` to `hi` (bytes as decoded). Both
    /// distances grow as the luma moves away from what the chroma implies (the shade tolerance
    /// shrinks, the luma residual grows), so only the end of the range farther from it counts.
    /// (Where par is negative the shrink alone passes any threshold.)
    /// No branch and no division: the tile's loop runs it over a row of sites at once.
    #[inline]
    fn possibly_subject(&self, lo: u8, hi: u8, cb: u8, cr: u8) -> bool {
        let (cb, cr) = (norm_c(cb), norm_c(cr));
        let par = cb * self.cb + cr * self.cr;
        let perp = cb * self.cr - cr * self.cb;
        let hue = (perp.abs() - self.hue).max(0.0);
        let grow = (par - 1.0 - self.oversaturation).max(0.0);
        let across = hue * hue + grow * grow;
        let apart = (norm_y(lo) * self.inv_luma - par)
            .abs()
            .max((norm_y(hi) * self.inv_luma - par).abs());
        let tol = self.shade * (1.0 - apart * self.inv_shade).clamp(0.0, 1.0);
        // shrink = max(0, 1 - par - tol) / (1 - tol); tol < 1, so compare without dividing.
        let shrink = (1.0 - par - tol).max(0.0);
        let t2 = self.threshold * self.threshold;
        let keep = 1.0 - tol;
        (apart - self.luma > self.luma_threshold)
            | (shrink * shrink + across * keep * keep > t2 * keep * keep)
    }
}

/// `key_norm_y`: BT.601 limited-range luma to 0..1.
fn norm_y(v: u8) -> f32 {
    (v as f32 - 16.0) / 219.0
}

/// `key_norm_c`: limited-range chroma centred on 0.
fn norm_c(v: u8) -> f32 {
    (v as f32 - 128.0) / 224.0
}

#[cfg(test)]
mod tests;
