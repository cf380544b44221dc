//! Drawing the views on the GPU with the WGSL shaders in `shaders/`, through the same wgpu device
//! eframe renders the window with (egui-wgpu paint callbacks).
//!
//! - [`forward`]: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε computed per displayed pixel from two textures
//!   uploaded once, so scrubbing t costs two numbers per frame.
//! - [`signed`]: signed values (ε̂, guidance differences) through the diverging colour map.
//! - [`lane`]: [`lane::GpuLane`], a view's or a run's own textures and its refused uploads.
//! - [`offscreen`]: a headless device and render-to-bytes, for tests and `diffuscope bench render`.
//!
//! The CPU paths (`diffusion::forward`, `sample::colormap`) stay the reference and serve exports;
//! `tests/render.rs` renders each shader off-screen and compares it with them. Where the window
//! has no wgpu device, or a pipeline cannot be built on it, the views use CPU textures and say so
//! once ([`GpuViews`]).

pub mod forward;
pub mod lane;
pub mod offscreen;
pub mod signed;

use crate::i18n::Lang;

/// `shaders/forward.wgsl`.
pub const FORWARD_WGSL: &str = include_str!("../../shaders/forward.wgsl");
/// `shaders/signed.wgsl`.
pub const SIGNED_WGSL: &str = include_str!("../../shaders/signed.wgsl");

/// The WGSL sources, by file name (each is validated by `tests/render.rs`).
pub const SHADERS: [(&str, &str); 2] =
    [("forward.wgsl", FORWARD_WGSL), ("signed.wgsl", SIGNED_WGSL)];

/// Whether the views draw with shaders or with CPU-made textures, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GpuViews {
    /// The pipelines are in egui-wgpu's callback resources.
    Shaders {
        /// The adapter, in words ("NVIDIA GeForce RTX 3060 (Vulkan)").
        adapter: String,
        /// The largest side of a 2-D texture on this device, in pixels.
        max_texture_side: usize,
        /// Whether the adapter is a software renderer (llvmpipe, SwiftShader): it draws on the
        /// CPU.
        software: bool,
    },
    /// The views upload CPU-computed pictures: the window has no wgpu device (`None`), or the
    /// pipelines could not be built on it (the error, in English).
    CpuTextures(Option<String>),
}

impl GpuViews {
    /// Builds the pipelines on eframe's wgpu device and stores them in its callback resources,
    /// or says why the views will use CPU textures.
    pub fn install(render_state: Option<&egui_wgpu::RenderState>) -> Self {
        let Some(state) = render_state else {
            return Self::CpuTextures(None);
        };
        let format = state.target_format;
        let built = checked(&state.device, || {
            (
                forward::ForwardPipeline::new(&state.device, format),
                signed::SignedPipeline::new(&state.device, format),
            )
        });
        match built {
            Ok((forward, signed)) => {
                let mut renderer = state.renderer.write();
                let resources = &mut renderer.callback_resources;
                resources.insert(forward::ForwardResources::new(forward));
                resources.insert(signed::SignedResources::new(signed));
                let info = state.adapter.get_info();
                Self::Shaders {
                    adapter: format!("{} ({:?})", info.name, info.backend),
                    max_texture_side: state.device.limits().max_texture_dimension_2d as usize,
                    software: info.device_type == wgpu::DeviceType::Cpu,
                }
            }
            Err(why) => Self::CpuTextures(Some(why)),
        }
    }

    /// The largest picture side the shaders can draw, or `None` where the views use CPU textures.
    pub fn texture_limit(&self) -> Option<usize> {
        match self {
            Self::Shaders {
                max_texture_side, ..
            } => Some(*max_texture_side),
            Self::CpuTextures(_) => None,
        }
    }

    /// Whether the window is drawn on the CPU: by a software adapter, or by OpenGL where no wgpu
    /// adapter exists at all (most often a machine without a GPU).
    pub fn drawn_on_cpu(&self) -> bool {
        match self {
            Self::Shaders { software, .. } => *software,
            Self::CpuTextures(None) => true,
            // The pipelines failed on a real adapter: it still draws the window.
            Self::CpuTextures(Some(_)) => false,
        }
    }

    /// One line for the log.
    pub fn describe(&self) -> String {
        self.describe_in(Lang::En)
    }

    /// One sentence for the About box and the banner, in `lang`.
    pub fn describe_in(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Shaders { adapter, .. }, Lang::En) => {
                format!("Pictures are drawn by WGSL shaders on {adapter}.")
            }
            (Self::Shaders { adapter, .. }, Lang::Zh) => {
                format!("图像由 WGSL 着色器在 {adapter} 上绘制。")
            }
            (Self::CpuTextures(None), Lang::En) => {
                "Pictures are computed on the CPU (the window has no wgpu device).".to_owned()
            }
            (Self::CpuTextures(None), Lang::Zh) => {
                "图像由 CPU 计算（窗口没有 wgpu 设备）。".to_owned()
            }
            (Self::CpuTextures(Some(why)), Lang::En) => format!(
                "The shaders could not be built on this GPU ({why}); pictures are computed on the CPU."
            ),
            (Self::CpuTextures(Some(why)), Lang::Zh) => {
                format!("无法在此 GPU 上构建着色器（{why}），图像改由 CPU 计算。")
            }
        }
    }
}

/// Runs `build` inside a validation error scope: wgpu reports a bad shader or pipeline there
/// instead of through its uncaptured-error handler (which panics).
pub fn checked<T>(device: &wgpu::Device, build: impl FnOnce() -> T) -> Result<T, String> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let value = build();
    match pollster::block_on(scope.pop()) {
        None => Ok(value),
        Some(error) => Err(error.to_string()),
    }
}

/// Whether a render target of `format` stores linear light, so shaders must encode sRGB grey
/// values themselves (egui's images are sRGB-encoded bytes).
pub fn needs_srgb_encoding(format: wgpu::TextureFormat) -> bool {
    format.is_srgb()
}

/// A pipeline of the WGSL `source` with what both shaders share: a full-viewport triangle from the
/// vertex index (`vs_main`), `fs_main`, and one colour target of `format` without blending.
fn fullscreen_pipeline(
    device: &wgpu::Device,
    label: &str,
    source: &str,
    layout: &wgpu::BindGroupLayout,
    format: wgpu::TextureFormat,
) -> wgpu::RenderPipeline {
    let shader = &device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module: shader,
            entry_point: Some("vs_main"),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module: shader,
            entry_point: Some("fs_main"),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format,
                blend: None,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// Draws a [`fullscreen_pipeline`] with its one bind group over the render pass's viewport.
fn draw_fullscreen(
    pass: &mut wgpu::RenderPass<'_>,
    pipeline: &wgpu::RenderPipeline,
    bind_group: &wgpu::BindGroup,
) {
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, bind_group, &[]);
    pass.draw(0..3, 0..1);
}

/// Binding `binding` of a layout: a uniform buffer the fragment shader reads.
fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A uniform buffer of `size` bytes that the queue rewrites.
fn uniform_buffer(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A sampled 2-D texture of `format` filled with `bytes` (rows of `width` texels, tightly packed).
fn texture_with(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    label: &str,
    size: (u32, u32),
    format: wgpu::TextureFormat,
    bytes: &[u8],
) -> wgpu::Texture {
    let texture = new_texture(device, label, size, format);
    write_texture(queue, &texture, bytes);
    texture
}

/// A 2-D texture of `format` that shaders sample and the queue writes.
pub(crate) fn new_texture(
    device: &wgpu::Device,
    label: &str,
    size: (u32, u32),
    format: wgpu::TextureFormat,
) -> wgpu::Texture {
    texture_2d(
        device,
        label,
        size,
        format,
        wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
    )
}

/// A 2-D texture of `format` with one mip level and one sample, for `usage`.
pub(crate) fn texture_2d(
    device: &wgpu::Device,
    label: &str,
    (width, height): (u32, u32),
    format: wgpu::TextureFormat,
    usage: wgpu::TextureUsages,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
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
    })
}

/// Replaces all of `texture`'s texels with `bytes` (rows tightly packed).
pub(crate) fn write_texture(queue: &wgpu::Queue, texture: &wgpu::Texture, bytes: &[u8]) {
    let size = texture.size();
    let bytes_per_texel = texture.format().block_copy_size(None).unwrap_or(4);
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        bytes,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(size.width * bytes_per_texel),
            rows_per_image: Some(size.height),
        },
        size,
    );
}

/// Checks that a picture of `width × height` fits the device's largest 2-D texture.
fn check_size(device: &wgpu::Device, width: usize, height: usize) -> Result<(u32, u32), String> {
    let limit = device.limits().max_texture_dimension_2d;
    match (u32::try_from(width), u32::try_from(height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 && w <= limit && h <= limit => Ok((w, h)),
        _ => Err(format!(
            "a picture of {width} × {height} pixels is larger than this GPU's textures ({limit} × {limit})"
        )),
    }
}
