//! A wgpu device without a window, and rendering into a texture that is read back as bytes: how
//! `tests/render.rs` compares the shaders with the CPU reference and how `diffuscope bench render`
//! times them. Where no GPU exists, Mesa's software rasterisers (lavapipe for Vulkan, llvmpipe for
//! OpenGL) serve as the adapter.

use std::time::{Duration, Instant};

/// The format off-screen targets use: plain bytes, no sRGB encoding, as egui's usual targets.
pub const TARGET_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// A device and queue of the best adapter found, with no window.
pub struct Headless {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The adapter, in words ("llvmpipe (LLVM 19.1.7, 256 bits) (Vulkan)").
    pub adapter: String,
}

/// Whether any wgpu adapter (GPU or software) can be opened here: the window uses the wgpu renderer
/// only then, and OpenGL otherwise.
pub fn adapter_available() -> bool {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default())).is_ok()
}

impl Headless {
    /// Opens the most capable adapter (a real GPU before a software one), with the adapter's own
    /// limits so that large photos fit. Fails with a sentence where there is none at all.
    pub fn open() -> Result<Self, String> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        }))
        .map_err(|e| format!("no graphics adapter could be opened ({e})"))?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("diffuscope off-screen"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| format!("the graphics adapter {} refused a device ({e})", info.name))?;
        Ok(Self {
            device,
            queue,
            adapter: format!("{} ({:?})", info.name, info.backend),
        })
    }

    /// Renders `width × height` pixels with `draw` (which records into a render pass over the whole
    /// target, cleared to black) and returns them as RGBA bytes, row by row.
    pub fn render(
        &self,
        (width, height): (u32, u32),
        draw: impl FnOnce(&mut wgpu::RenderPass<'_>),
    ) -> Result<Vec<u8>, String> {
        let target = self.target(width, height);
        let padded_row = (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: u64::from(padded_row) * u64::from(height),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let mut encoder = self.pass(&target, draw);
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &target,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded_row),
                    rows_per_image: Some(height),
                },
            },
            target.size(),
        );
        self.queue.submit([encoder.finish()]);
        readback.map_async(wgpu::MapMode::Read, .., |_| {});
        self.wait()?;
        let mapped = readback
            .get_mapped_range(..)
            .map_err(|e| format!("the rendered pixels could not be read back ({e})"))?;
        let mut bytes = Vec::with_capacity((width * height * 4) as usize);
        for row in mapped.chunks_exact(padded_row as usize) {
            bytes.extend_from_slice(&row[..(width * 4) as usize]);
        }
        Ok(bytes)
    }

    /// Wall time of rendering `width × height` pixels with `draw` and waiting for the GPU to
    /// finish, without reading the pixels back (what one frame of the window costs the GPU).
    pub fn time_render(
        &self,
        (width, height): (u32, u32),
        draw: impl FnOnce(&mut wgpu::RenderPass<'_>),
    ) -> Result<Duration, String> {
        let target = self.target(width, height);
        let start = Instant::now();
        let encoder = self.pass(&target, draw);
        self.queue.submit([encoder.finish()]);
        self.wait()?;
        Ok(start.elapsed())
    }

    /// Waits until the queue is idle.
    pub fn wait(&self) -> Result<(), String> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(drop)
            .map_err(|e| format!("waiting for the GPU failed ({e})"))
    }

    fn target(&self, width: u32, height: u32) -> wgpu::Texture {
        super::texture_2d(
            &self.device,
            "off-screen target",
            (width, height),
            TARGET_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        )
    }

    fn pass(
        &self,
        target: &wgpu::Texture,
        draw: impl FnOnce(&mut wgpu::RenderPass<'_>),
    ) -> wgpu::CommandEncoder {
        let view = target.create_view(&wgpu::TextureViewDescriptor::default());
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("off-screen"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            draw(&mut pass);
        }
        encoder
    }
}
