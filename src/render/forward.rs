//! The Forward view's x_t on the GPU (`shaders/forward.wgsl`): the photo x0 and one draw of ε are
//! uploaded once as textures; each frame only writes √ᾱ_t and √(1−ᾱ_t).

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};
use half::f16;

use super::lane::GpuLane;
use super::{
    check_size, checked, draw_fullscreen, fullscreen_pipeline, texture_with, uniform_buffer,
    uniform_entry,
};

/// The uniforms of `shaders/forward.wgsl`.
///
/// Keep in sync with `struct ForwardUniforms` in shaders/forward.wgsl (field order, types, 16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct ForwardUniforms {
    /// √ᾱ_t.
    pub signal_scale: f32,
    /// √(1−ᾱ_t).
    pub noise_scale: f32,
    /// 1 when the target format is sRGB (stores linear light).
    pub encode_srgb: u32,
    /// Keeps the struct 16 bytes long, as uniform buffers want.
    pub padding: u32,
}

/// What the shader needs about one picture: its bytes and its ε, both RGB, row by row.
#[derive(Clone, Debug)]
pub struct ForwardInputs {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// x0 as RGB bytes (value = 2·byte/255 − 1, the program's convention).
    pub x0_rgb: Vec<u8>,
    /// ε, three values per pixel.
    pub eps: Vec<f32>,
}

/// The pipeline, its sampler and uniform buffer; built once per device.
pub struct ForwardPipeline {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    uniforms: wgpu::Buffer,
    encode_srgb: bool,
}

/// The two textures of one picture, bound for drawing.
pub struct ForwardTextures {
    bind_group: wgpu::BindGroup,
}

impl ForwardPipeline {
    /// Builds the pipeline for render targets of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let texture_entry = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: true },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("forward"),
            entries: &[
                uniform_entry(0),
                texture_entry(1),
                texture_entry(2),
                wgpu::BindGroupLayoutEntry {
                    binding: 3,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let pipeline =
            fullscreen_pipeline(device, "forward.wgsl", super::FORWARD_WGSL, &layout, format);
        // Linear filtering, as the CPU path's egui textures use.
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("forward"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let uniforms = uniform_buffer(
            device,
            "forward uniforms",
            size_of::<ForwardUniforms>() as u64,
        );
        Self {
            pipeline,
            layout,
            sampler,
            uniforms,
            encode_srgb: super::needs_srgb_encoding(format),
        }
    }

    /// Uploads a picture's x0 and ε (x0 as RGBA bytes, ε as RGBA half floats).
    pub fn upload(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        inputs: &ForwardInputs,
    ) -> Result<ForwardTextures, String> {
        let size = check_size(device, inputs.width, inputs.height)?;
        let pixels = inputs.width * inputs.height;
        if inputs.x0_rgb.len() != pixels * 3 || inputs.eps.len() != pixels * 3 {
            return Err("the picture and its noise differ in size".to_owned());
        }
        let mut x0 = Vec::with_capacity(pixels * 4);
        for rgb in inputs.x0_rgb.chunks_exact(3) {
            x0.extend_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
        }
        let mut eps: Vec<f16> = Vec::with_capacity(pixels * 4);
        for rgb in inputs.eps.chunks_exact(3) {
            eps.extend(rgb.iter().map(|&e| f16::from_f32(e)));
            eps.push(f16::ONE);
        }
        checked(device, || {
            let x0 = texture_with(
                device,
                queue,
                "forward x0",
                size,
                wgpu::TextureFormat::Rgba8Unorm,
                &x0,
            );
            let eps = texture_with(
                device,
                queue,
                "forward eps",
                size,
                wgpu::TextureFormat::Rgba16Float,
                bytemuck::cast_slice(&eps),
            );
            let views = [&x0, &eps].map(|t| t.create_view(&wgpu::TextureViewDescriptor::default()));
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("forward"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: self.uniforms.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&views[0]),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: wgpu::BindingResource::TextureView(&views[1]),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: wgpu::BindingResource::Sampler(&self.sampler),
                    },
                ],
            });
            ForwardTextures { bind_group }
        })
    }

    /// Sets the point of the path to draw: √ᾱ_t and √(1−ᾱ_t).
    pub fn set_scales(&self, queue: &wgpu::Queue, signal_scale: f32, noise_scale: f32) {
        let uniforms = ForwardUniforms {
            signal_scale,
            noise_scale,
            encode_srgb: u32::from(self.encode_srgb),
            padding: 0,
        };
        queue.write_buffer(&self.uniforms, 0, bytemuck::bytes_of(&uniforms));
    }

    /// Draws x_t over the render pass's viewport.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, textures: &ForwardTextures) {
        draw_fullscreen(pass, &self.pipeline, &textures.bind_group);
    }
}

/// What lives in egui-wgpu's callback resources: the pipeline and the uploaded picture.
pub struct ForwardResources {
    pipeline: ForwardPipeline,
    uploaded: Option<(u64, Result<ForwardTextures, String>)>,
}

impl ForwardResources {
    /// Resources with nothing uploaded yet.
    pub fn new(pipeline: ForwardPipeline) -> Self {
        Self {
            pipeline,
            uploaded: None,
        }
    }
}

/// One frame's request to draw x_t: which picture (by revision; uploaded only when it changes)
/// and where on the path.
pub struct ForwardCallback {
    /// The view's lane, where a refused upload is reported.
    pub lane: GpuLane,
    /// Changes whenever x0 or ε change.
    pub revision: u64,
    /// The picture and its noise.
    pub inputs: Arc<ForwardInputs>,
    /// √ᾱ_t.
    pub signal_scale: f32,
    /// √(1−ᾱ_t).
    pub noise_scale: f32,
}

impl egui_wgpu::CallbackTrait for ForwardCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(resources) = resources.get_mut::<ForwardResources>() {
            if resources.uploaded.as_ref().map(|(r, _)| *r) != Some(self.revision) {
                let textures = resources.pipeline.upload(device, queue, &self.inputs);
                if let Err(why) = &textures {
                    self.lane.report_failure(why.clone());
                }
                resources.uploaded = Some((self.revision, textures));
            }
            resources
                .pipeline
                .set_scales(queue, self.signal_scale, self.noise_scale);
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(ForwardResources {
            pipeline,
            uploaded: Some((_, Ok(textures))),
        }) = resources.get::<ForwardResources>()
        {
            pipeline.draw(pass, textures);
        }
    }
}
