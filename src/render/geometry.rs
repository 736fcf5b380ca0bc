//! Triangle meshes for the room's boxes, with texture coordinates for their materials.

use bytemuck::{Pod, Zeroable};

use super::layout::BoxSpec;
use super::material::Material;

/// One vertex of the room mesh; matches `VertexIn` in `shaders/room.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct RoomVertex {
    /// Position, metres.
    pub position: [f32; 3],
    /// Face normal.
    pub normal: [f32; 3],
    /// Colour 0..1 (the tint of a textured box).
    pub color: [f32; 3],
    /// Texture coordinates in repeats of the material's tile ([`Material::tile_metres`]),
    /// projected from the box's own frame by face, so nothing stretches.
    pub uv: [f32; 2],
    /// [`Material::vertex_code`]: 0 for a flat colour, else the texture layer plus one.
    pub material: u32,
}

impl RoomVertex {
    /// Vertex buffer layout for the room pipeline.
    pub const LAYOUT: wgpu::VertexBufferLayout<'static> = wgpu::VertexBufferLayout {
        array_stride: std::mem::size_of::<RoomVertex>() as u64,
        step_mode: wgpu::VertexStepMode::Vertex,
        attributes: &wgpu::vertex_attr_array![
            0 => Float32x3, 1 => Float32x3, 2 => Float32x3, 3 => Float32x2, 4 => Uint32
        ],
    };
}

/// Six faces, two triangles each, for every box.
pub fn boxes_mesh(boxes: &[BoxSpec]) -> Vec<RoomVertex> {
    let mut out = Vec::with_capacity(boxes.len() * 36);
    for b in boxes {
        let [x0, y0, z0] = b.min;
        let [x1, y1, z1] = b.max;
        // (normal, four corners counter-clockwise seen from outside)
        let faces: [([f32; 3], [[f32; 3]; 4]); 6] = [
            (
                [0.0, 0.0, 1.0],
                [[x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]],
            ),
            (
                [0.0, 0.0, -1.0],
                [[x1, y0, z0], [x0, y0, z0], [x0, y1, z0], [x1, y1, z0]],
            ),
            (
                [1.0, 0.0, 0.0],
                [[x1, y0, z1], [x1, y0, z0], [x1, y1, z0], [x1, y1, z1]],
            ),
            (
                [-1.0, 0.0, 0.0],
                [[x0, y0, z0], [x0, y0, z1], [x0, y1, z1], [x0, y1, z0]],
            ),
            (
                [0.0, 1.0, 0.0],
                [[x0, y1, z1], [x1, y1, z1], [x1, y1, z0], [x0, y1, z0]],
            ),
            (
                [0.0, -1.0, 0.0],
                [[x0, y0, z0], [x1, y0, z0], [x1, y0, z1], [x0, y0, z1]],
            ),
        ];
        // Rotate about the vertical axis through the centre (same sense as a seat's yaw).
        let (sin, cos) = b.yaw_deg.to_radians().sin_cos();
        let (cx, cz) = ((x0 + x1) / 2.0, (z0 + z1) / 2.0);
        let turn = |[x, y, z]: [f32; 3], about: (f32, f32)| {
            let (dx, dz) = (x - about.0, z - about.1);
            [
                about.0 + dx * cos + dz * sin,
                y,
                about.1 - dx * sin + dz * cos,
            ]
        };
        let tile = b.material.map_or(1.0, Material::tile_metres);
        let long_x = x1 - x0 >= z1 - z0;
        for (normal, c) in faces {
            for i in [0, 1, 2, 0, 2, 3] {
                let [u, v] = face_uv(normal, c[i], long_x);
                out.push(RoomVertex {
                    position: turn(c[i], (cx, cz)),
                    normal: turn(normal, (0.0, 0.0)),
                    color: b.color,
                    uv: [u / tile, v / tile],
                    material: Material::vertex_code(b.material),
                });
            }
        }
    }
    out
}

/// Metres across a face of an unrotated box, `(u, v)`: on a vertical face `u` runs
/// horizontally and `v` down, so wood grain and floor planks lie level; on a horizontal face
/// `u` runs along the box's longer side (`long_x`), so grain follows a table's length.
fn face_uv(normal: [f32; 3], [x, y, z]: [f32; 3], long_x: bool) -> [f32; 2] {
    if normal[1] != 0.0 {
        if long_x {
            [x, z]
        } else {
            [z, x]
        }
    } else if normal[0] != 0.0 {
        [z, -y]
    } else {
        [x, -y]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec3;

    #[test]
    fn each_box_has_36_outward_facing_vertices() {
        let b = BoxSpec {
            name: "b".into(),
            min: [0.0; 3],
            max: [1.0, 2.0, 3.0],
            color: [0.5; 3],
            yaw_deg: 0.0,
            material: None,
        };
        let turned = BoxSpec {
            yaw_deg: 37.0,
            ..b.clone()
        };
        let mesh = boxes_mesh(&[b]);
        let turned_mesh = boxes_mesh(&[turned]);
        let centre = Vec3::new(0.5, 1.0, 1.5);
        for tri in turned_mesh.chunks(3) {
            let [a, b, c] = [tri[0], tri[1], tri[2]].map(|v| Vec3::from(v.position));
            let n = (b - a).cross(c - a).normalize();
            assert!(
                n.dot(Vec3::from(tri[0].normal)) > 0.99,
                "turned normal follows"
            );
            assert!(n.dot(a - centre) > 0.0, "turned normal points outward");
        }
        assert!(
            turned_mesh
                .iter()
                .any(|v| (v.position[0] - 0.0).abs() > 0.01 && (v.position[0] - 1.0).abs() > 0.01),
            "turning moves corners off the axis-aligned planes"
        );
        assert_eq!(mesh.len(), 36);
        for tri in mesh.chunks(3) {
            let [a, b, c] = [tri[0], tri[1], tri[2]].map(|v| Vec3::from(v.position));
            let n = (b - a).cross(c - a).normalize();
            assert!(
                n.dot(Vec3::from(tri[0].normal)) > 0.99,
                "winding matches normal"
            );
            assert!(n.dot(a - centre) > 0.0, "normal points outward");
        }
    }

    #[test]
    fn texture_coordinates_follow_each_face_without_stretching() {
        let wood = BoxSpec {
            name: "table".into(),
            min: [-1.0, 0.0, -0.3],
            max: [1.4, 0.75, 0.3],
            color: [0.4, 0.25, 0.15],
            yaw_deg: 35.0,
            material: Some(Material::Wood),
        };
        let tile = Material::Wood.tile_metres();
        let flat = BoxSpec {
            material: None,
            ..wood.clone()
        };
        let mesh = boxes_mesh(&[wood, flat]);
        let (textured, plain) = mesh.split_at(36);
        assert!(textured
            .iter()
            .all(|v| v.material == Material::Wood.layer() + 1));
        assert!(plain.iter().all(|v| v.material == 0));
        for tri in textured.chunks(3) {
            for (a, b) in [(0, 1), (1, 2), (0, 2)] {
                let world = Vec3::from(tri[a].position).distance(Vec3::from(tri[b].position));
                let du = tri[a].uv[0] - tri[b].uv[0];
                let dv = tri[a].uv[1] - tri[b].uv[1];
                let uv = (du * du + dv * dv).sqrt() * tile;
                assert!((uv - world).abs() < 1e-4, "uv {uv} m vs world {world} m");
            }
        }
        // The top's grain runs along the table's length: u spans 2.4 m there, v 0.6 m.
        let top: Vec<&RoomVertex> = textured.iter().filter(|v| v.normal[1] > 0.5).collect();
        let span = |k: usize| {
            let vals = top.iter().map(|v| v.uv[k] * tile);
            vals.clone().fold(f32::MIN, f32::max) - vals.fold(f32::MAX, f32::min)
        };
        assert!((span(0) - 2.4).abs() < 1e-4 && (span(1) - 0.6).abs() < 1e-4);
    }
}
