//! Textures: the descriptor every 2D texture starts from, uploads of planes and mip chains, and
//! the box filter that builds a mip chain on the CPU.

/// A 2D texture of `width × height`, one mip level, one sample, no extra view formats.
pub fn texture_desc(
    label: &'static str,
    width: u32,
    height: u32,
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::TextureDescriptor<'static> {
    wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage,
        view_formats: &[],
    }
}

/// Uploads a tightly packed plane of one byte per texel (`width × height`) into `texture`.
pub fn write_plane(
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    data: &[u8],
    width: u32,
    height: u32,
) {
    queue.write_texture(
        texture.as_image_copy(),
        data,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(width),
            rows_per_image: Some(height),
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
}

/// Uploads an RGBA8 mip chain (largest first, as `(width, height, texels)`) into array layer
/// `layer` of `texture`.
pub fn write_mips(
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    layer: u32,
    levels: &[(u32, u32, Vec<u8>)],
) {
    for (level, (w, h, data)) in levels.iter().enumerate() {
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: level as u32,
                origin: wgpu::Origin3d {
                    x: 0,
                    y: 0,
                    z: layer,
                },
                aspect: wgpu::TextureAspect::All,
            },
            data,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(w * 4),
                rows_per_image: Some(*h),
            },
            wgpu::Extent3d {
                width: *w,
                height: *h,
                depth_or_array_layers: 1,
            },
        );
    }
}

/// A 2×2 box-filtered half-size copy of an RGBA8 image with even sides: the next level of a
/// mip chain (the room's materials, the nameplates).
pub fn halve(w: u32, h: u32, data: &[u8]) -> Vec<u8> {
    let (nw, nh) = (w / 2, h / 2);
    let mut next = vec![0u8; (nw * nh * 4) as usize];
    for y in 0..nh {
        for x in 0..nw {
            for c in 0..4 {
                let at = |dx: u32, dy: u32| {
                    data[(((y * 2 + dy) * w + x * 2 + dx) * 4 + c) as usize] as u32
                };
                next[((y * nw + x) * 4 + c) as usize] =
                    ((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) / 4) as u8;
            }
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halve_averages_each_two_by_two_block_rounding_to_nearest() {
        // 2×2 → 1×1: (1 + 2 + 3 + 5 + 2) / 4 = 3, the + 2 rounding to nearest; 255s stay 255.
        let data = [
            1, 10, 255, 0, 2, 20, 255, 0, //
            3, 30, 255, 0, 5, 41, 255, 1,
        ];
        assert_eq!(halve(2, 2, &data), vec![3, 25, 255, 0]);
    }
}
