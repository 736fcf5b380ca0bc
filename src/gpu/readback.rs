//! Reading results back from the device: submit, map, wait.

use super::device::Gpu;
use super::GpuError;

/// Submits `encoder`, maps `buffer` for reading and waits until the device has finished and
/// the mapping is ready; the caller reads the returned slice's mapped range and unmaps.
pub fn submit_and_map<'a>(
    gpu: &Gpu,
    encoder: wgpu::CommandEncoder,
    buffer: &'a wgpu::Buffer,
) -> Result<wgpu::BufferSlice<'a>, GpuError> {
    let readback = |e: &dyn std::fmt::Display| GpuError::Readback(e.to_string());
    gpu.queue.submit(Some(encoder.finish()));
    let slice = buffer.slice(..);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| readback(&e))?;
    rx.recv()
        .map_err(|e| readback(&e))?
        .map_err(|e| readback(&e))?;
    Ok(slice)
}

/// Copies a texture to the CPU, strips row padding, and returns tightly packed bytes.
pub fn read_texture(
    gpu: &Gpu,
    mut encoder: wgpu::CommandEncoder,
    texture: &wgpu::Texture,
    width: u32,
    height: u32,
    bytes_per_pixel: u32,
) -> Result<Vec<u8>, GpuError> {
    let row = width * bytes_per_pixel;
    let padded =
        row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: (padded * height) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded),
                rows_per_image: Some(height),
            },
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
    let slice = submit_and_map(gpu, encoder, &buffer)?;
    let mapped = slice
        .get_mapped_range()
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    let mut out = Vec::with_capacity((row * height) as usize);
    for r in 0..height {
        let start = (r * padded) as usize;
        out.extend_from_slice(&mapped[start..start + row as usize]);
    }
    drop(mapped);
    buffer.unmap();
    Ok(out)
}
