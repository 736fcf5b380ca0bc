//! The device: picks an adapter (a GPU when present, else Mesa lavapipe on the CPU) and opens
//! one device that every hearing shares.

use std::sync::Arc;

use super::GpuError;

/// An open device and its queue, shared across hearings.
#[derive(Debug)]
pub struct Gpu {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Adapter name, reported with benchmark figures.
    pub adapter_name: String,
    /// Whether the adapter is a CPU implementation (lavapipe, llvmpipe).
    pub is_cpu: bool,
}

/// Which kind of adapter to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterChoice {
    /// A GPU if there is one, otherwise the CPU.
    Auto,
    /// A GPU, or fail.
    Gpu,
    /// The CPU (Mesa lavapipe), even when a GPU exists.
    Cpu,
}

impl AdapterChoice {
    /// Parses the `render.adapter` setting.
    pub fn parse(s: &str) -> Self {
        match s {
            "gpu" => Self::Gpu,
            "cpu" => Self::Cpu,
            _ => Self::Auto,
        }
    }
}

impl Gpu {
    /// Opens a device on the chosen kind of adapter.
    pub fn open(choice: AdapterChoice) -> Result<Arc<Self>, GpuError> {
        // Vulkan first (a GPU's driver, or lavapipe); GL only if no Vulkan driver exists, since
        // probing GL on a headless machine is slow and noisy.
        let adapters = [wgpu::Backends::VULKAN, wgpu::Backends::GL]
            .into_iter()
            .map(|backends| {
                let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
                desc.backends = backends;
                let instance = wgpu::Instance::new(desc);
                pollster::block_on(instance.enumerate_adapters(backends))
            })
            .find(|found| !found.is_empty())
            .unwrap_or_default();
        let rank = |a: &wgpu::Adapter| {
            let info = a.get_info();
            let cpu = info.device_type == wgpu::DeviceType::Cpu;
            let vulkan = info.backend == wgpu::Backend::Vulkan;
            // Prefer Vulkan over GL, then by the choice between GPU and CPU.
            let kind = match (choice, cpu) {
                (AdapterChoice::Cpu, true) | (AdapterChoice::Auto | AdapterChoice::Gpu, false) => 2,
                (AdapterChoice::Auto, true) => 1,
                _ => 0,
            };
            kind * 2 + vulkan as i32
        };
        let adapter = adapters
            .into_iter()
            .filter(|a| rank(a) >= 2)
            .max_by_key(|a| rank(a))
            .ok_or(GpuError::NoAdapter)?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("courtroom"),
            required_features: wgpu::Features::empty(),
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device(e.to_string()))?;
        tracing::info!(adapter = %info.name, backend = ?info.backend, "render device open");
        Ok(Arc::new(Self {
            device,
            queue,
            adapter_name: format!("{} ({:?})", info.name, info.backend),
            is_cpu: info.device_type == wgpu::DeviceType::Cpu,
        }))
    }
}
