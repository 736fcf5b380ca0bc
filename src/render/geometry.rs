//! Triangle meshes for the room's boxes.

use bytemuck::{Pod, Zeroable};

use super::layout::BoxSpec;

/// One vertex of the room mesh; matches `VertexIn` in `shaders/room.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct RoomVertex {
    /// Position, metres.
    pub position: [f32; 3],
    /// Face normal.
    pub normal: [f32; 3],
    /// Colour 0..1.
    pub color: [f32; 3],
}

impl RoomVertex {
    /// Vertex buffer layout for the room pipeline.
    pub const LAYOUT: wgpu::VertexBufferLayout<'static> = wgpu::VertexBufferLayout {
        array_stride: std::mem::size_of::<RoomVertex>() as u64,
        step_mode: wgpu::VertexStepMode::Vertex,
        attributes: &wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Float32x3],
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
        for (normal, c) in faces {
            for i in [0, 1, 2, 0, 2, 3] {
                out.push(RoomVertex {
                    position: turn(c[i], (cx, cz)),
                    normal: turn(normal, (0.0, 0.0)),
                    color: b.color,
                });
            }
        }
    }
    out
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
}
