//! The screen's residual map: what the smooth cubic surfaces of a [`super::ScreenModel`] miss,
//! held per cell of a coarse grid over the frame.
//!
//! A home screen is not a polynomial: hue drifts in patches, a sheet sags, a lamp makes a hot
//! spot. Cubic surfaces follow the broad gradient and vignetting; the map adds back what is
//! left, measured as the median residual of the screen samples in each cell. Cells hidden
//! behind the subject have no samples of their own and are filled smoothly from the cells
//! around them (a harmonic fill), so the key behind a person is interpolated, never guessed.
//! The shader reads it bilinearly (`key_residual` in `shaders/keyer.wgsl`).

/// Cells across the frame.
pub const GRID_W: usize = 16;
/// Cells down the frame.
pub const GRID_H: usize = 12;
/// Number of cells.
pub const CELLS: usize = GRID_W * GRID_H;
/// Samples a cell needs before its own median is trusted.
const MIN_SAMPLES: usize = 4;
/// Sweeps of the harmonic fill; enough to cross the grid twice.
const FILL_SWEEPS: usize = 2 * (GRID_W + GRID_H);

/// Per-cell residual (Y, Cb, Cr, unused) of the screen over its smooth model, row-major from
/// the frame's top-left; cell centres sit at `((i + 0.5) / GRID_W, (j + 0.5) / GRID_H)` in uv.
/// The fourth lane keeps the layout of a WGSL `array<vec4<f32>, CELLS>`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResidualMap(pub [[f32; 4]; CELLS]);

impl Default for ResidualMap {
    fn default() -> Self {
        Self([[0.0; 4]; CELLS])
    }
}

impl ResidualMap {
    /// Fits the map from screen samples: `(u, v)` in 0..1 over the frame and the sample's
    /// (Y, Cb, Cr) minus the smooth model's there.
    pub fn fit(samples: impl IntoIterator<Item = ([f32; 2], [f32; 3])>) -> Self {
        let mut bins: Vec<[Vec<f32>; 3]> = (0..CELLS).map(|_| Default::default()).collect();
        for ([u, v], r) in samples {
            let i = cell_index(u, v);
            for (bin, value) in bins[i].iter_mut().zip(r) {
                bin.push(value);
            }
        }
        let mut map = Self::default();
        let mut known = [false; CELLS];
        for (i, bin) in bins.iter_mut().enumerate() {
            if bin[0].len() >= MIN_SAMPLES {
                known[i] = true;
                for (c, values) in bin.iter_mut().enumerate() {
                    map.0[i][c] = median(values);
                }
            }
        }
        map.fill(&known);
        map
    }

    /// Harmonic fill: every unknown cell becomes the mean of its neighbours, repeatedly, with
    /// the known cells held; with no known cell at all the map stays zero.
    fn fill(&mut self, known: &[bool; CELLS]) {
        if !known.iter().any(|k| *k) {
            return;
        }
        for _ in 0..FILL_SWEEPS {
            for j in 0..GRID_H {
                for i in 0..GRID_W {
                    let here = j * GRID_W + i;
                    if known[here] {
                        continue;
                    }
                    let mut sum = [0.0f32; 3];
                    let mut n = 0.0;
                    for (di, dj) in [(-1i32, 0i32), (1, 0), (0, -1), (0, 1)] {
                        let (x, y) = (i as i32 + di, j as i32 + dj);
                        if x < 0 || y < 0 || x >= GRID_W as i32 || y >= GRID_H as i32 {
                            continue;
                        }
                        let cell = self.0[y as usize * GRID_W + x as usize];
                        for c in 0..3 {
                            sum[c] += cell[c];
                        }
                        n += 1.0;
                    }
                    for c in 0..3 {
                        self.0[here][c] = sum[c] / n;
                    }
                }
            }
        }
    }

    /// The residual at `uv` (0..1 over the frame), bilinear between cell centres and held
    /// flat beyond the outer centres, exactly as the shader reads it.
    pub fn at(&self, [u, v]: [f32; 2]) -> [f32; 3] {
        let fx = (u * GRID_W as f32 - 0.5).clamp(0.0, (GRID_W - 1) as f32);
        let fy = (v * GRID_H as f32 - 0.5).clamp(0.0, (GRID_H - 1) as f32);
        let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(GRID_W - 1), (y0 + 1).min(GRID_H - 1));
        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
        let c = |x: usize, y: usize| self.0[y * GRID_W + x];
        let mut out = [0.0; 3];
        for (k, o) in out.iter_mut().enumerate() {
            let top = c(x0, y0)[k] * (1.0 - tx) + c(x1, y0)[k] * tx;
            let bottom = c(x0, y1)[k] * (1.0 - tx) + c(x1, y1)[k] * tx;
            *o = top * (1.0 - ty) + bottom * ty;
        }
        out
    }

    /// Moves every cell a fraction `rate` towards `other`'s.
    pub fn blend_towards(&mut self, other: &ResidualMap, rate: f32) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            for c in 0..3 {
                a[c] += (b[c] - a[c]) * rate;
            }
        }
    }
}

fn cell_index(u: f32, v: f32) -> usize {
    let i = ((u * GRID_W as f32) as usize).min(GRID_W - 1);
    let j = ((v * GRID_H as f32) as usize).min(GRID_H - 1);
    j * GRID_W + i
}

fn median(v: &mut [f32]) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn centre(i: usize, j: usize) -> [f32; 2] {
        [
            (i as f32 + 0.5) / GRID_W as f32,
            (j as f32 + 0.5) / GRID_H as f32,
        ]
    }

    #[test]
    fn a_patch_is_measured_and_hidden_cells_are_filled_between_their_neighbours() {
        // Screen samples everywhere except a hidden block of cells (the subject); a patch of
        // drifted hue on the left half.
        let hidden = |i: usize, j: usize| (6..10).contains(&i) && (4..12).contains(&j);
        let drift = |u: f32| if u < 0.5 { 0.04 } else { 0.0 };
        let mut samples = Vec::new();
        for j in 0..GRID_H {
            for i in 0..GRID_W {
                if hidden(i, j) {
                    continue;
                }
                for k in 0..6 {
                    let [u, v] = centre(i, j);
                    let noise = if k % 2 == 0 { 0.01 } else { -0.01 };
                    samples.push(([u, v], [0.0, drift(u) + noise, 0.0]));
                }
            }
        }
        // One wild sample per cell does not move a median.
        samples.push((centre(2, 2), [0.0, 5.0, 0.0]));
        let map = ResidualMap::fit(samples);
        assert!((map.at(centre(2, 2))[1] - 0.04).abs() < 0.011);
        assert!(map.at(centre(12, 2))[1].abs() < 0.011);
        // Hidden cells lie between the patch and the rest, never outside that range.
        for j in 4..12 {
            for i in 6..10 {
                let v = map.at(centre(i, j))[1];
                assert!((-0.011..=0.051).contains(&v), "cell {i},{j}: {v}");
            }
        }
        let (left, right) = (map.at(centre(6, 8))[1], map.at(centre(9, 8))[1]);
        assert!(left > right, "{left} {right}");
    }

    #[test]
    fn reads_are_bilinear_and_flat_beyond_the_outer_centres() {
        let mut map = ResidualMap::default();
        map.0[0][0] = 1.0;
        assert_eq!(map.at(centre(0, 0))[0], 1.0);
        assert_eq!(map.at([0.0, 0.0])[0], 1.0);
        let half = [1.0 / GRID_W as f32, 0.5 / GRID_H as f32];
        assert!((map.at(half)[0] - 0.5).abs() < 1e-5);
        assert_eq!(map.at(centre(1, 0))[0], 0.0);
    }

    #[test]
    fn without_samples_the_map_is_zero() {
        assert_eq!(ResidualMap::fit(std::iter::empty()), ResidualMap::default());
    }
}
