//! Signed values through the diverging colour map on the GPU (`shaders/signed.wgsl`): ε̂ and the
//! guidance difference of the Reverse view. Each panel on screen has a slot with its own texture
//! and uniforms, re-uploaded only when its values change.

use std::collections::HashMap;
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use super::lane::{GpuLane, LaneWatch};
use super::{
    check_size, checked, draw_fullscreen, fullscreen_pipeline, uniform_buffer, uniform_entry,
};

/// The uniforms of `shaders/signed.wgsl`.
///
/// Keep in sync with `struct SignedUniforms` in shaders/signed.wgsl (field order, types, 16 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct SignedUniforms {
    /// The value drawn at the ends of the map.
    pub range: f32,
    /// Width of the values in pixels.
    pub width: u32,
    /// Height of the values in pixels.
    pub height: u32,
    /// 1 when the target format is sRGB (stores linear light).
    pub encode_srgb: u32,
}

/// Values to draw: `width × height` of them, row by row.
#[derive(Clone, Debug, PartialEq)]
pub struct SignedValues {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The values.
    pub values: Vec<f32>,
}

/// The pipeline; built once per device.
pub struct SignedPipeline {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    encode_srgb: bool,
}

/// One panel's texture, uniforms and bind group.
pub struct SignedSlot {
    uniforms: wgpu::Buffer,
    texture: wgpu::Texture,
    bind_group: wgpu::BindGroup,
}

impl SignedPipeline {
    /// Builds the pipeline for render targets of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("signed"),
            entries: &[
                uniform_entry(0),
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let pipeline =
            fullscreen_pipeline(device, "signed.wgsl", super::SIGNED_WGSL, &layout, format);
        Self {
            pipeline,
            layout,
            encode_srgb: super::needs_srgb_encoding(format),
        }
    }

    /// A slot holding `values`, drawn with ±`range` at the ends of the map.
    pub fn slot(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        values: &SignedValues,
        range: f32,
    ) -> Result<SignedSlot, String> {
        let size = check_size(device, values.width, values.height)?;
        if values.values.len() != values.width * values.height {
            return Err("the values do not fill their picture".to_owned());
        }
        checked(device, || {
            let uniforms = uniform_buffer(
                device,
                "signed uniforms",
                size_of::<SignedUniforms>() as u64,
            );
            let texture = super::texture_with(
                device,
                queue,
                "signed values",
                size,
                wgpu::TextureFormat::R32Float,
                bytemuck::cast_slice(&values.values),
            );
            let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("signed"),
                layout: &self.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uniforms.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::TextureView(&view),
                    },
                ],
            });
            let slot = SignedSlot {
                uniforms,
                texture,
                bind_group,
            };
            self.set_range(queue, &slot, range);
            slot
        })
    }

    /// Changes the value drawn at the ends of the map.
    pub fn set_range(&self, queue: &wgpu::Queue, slot: &SignedSlot, range: f32) {
        let size = slot.texture.size();
        let uniforms = SignedUniforms {
            range: if range > 0.0 { range } else { 1.0 },
            width: size.width,
            height: size.height,
            encode_srgb: u32::from(self.encode_srgb),
        };
        queue.write_buffer(&slot.uniforms, 0, bytemuck::bytes_of(&uniforms));
    }

    /// Draws the slot's values over the render pass's viewport.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, slot: &SignedSlot) {
        draw_fullscreen(pass, &self.pipeline, &slot.bind_group);
    }
}

/// What lives in egui-wgpu's callback resources: the pipeline and one slot per panel of each lane
/// (let go once the lane is dropped).
pub struct SignedResources {
    pipeline: SignedPipeline,
    slots: HashMap<(u64, u8), PanelSlot>,
}

/// One panel's texture, the revision of its values, and the lane it belongs to.
struct PanelSlot {
    revision: u64,
    slot: SignedSlot,
    lane: LaneWatch,
}

impl SignedResources {
    /// Resources with no slots yet.
    pub fn new(pipeline: SignedPipeline) -> Self {
        Self {
            pipeline,
            slots: HashMap::new(),
        }
    }
}

/// One panel's request to draw signed values.
pub struct SignedCallback {
    /// The lane the panel belongs to (where a refused upload is reported).
    pub lane: GpuLane,
    /// Which of the lane's panels (each keeps its own texture).
    pub panel: u8,
    /// Changes whenever the values change.
    pub revision: u64,
    /// The values.
    pub values: Arc<SignedValues>,
    /// The value drawn at the ends of the map.
    pub range: f32,
}

impl egui_wgpu::CallbackTrait for SignedCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(resources) = resources.get_mut::<SignedResources>() {
            resources.slots.retain(|_, panel| panel.lane.is_alive());
            let key = (self.lane.id(), self.panel);
            match resources.slots.get(&key) {
                Some(panel) if panel.revision == self.revision => {
                    resources.pipeline.set_range(queue, &panel.slot, self.range);
                }
                _ => match resources
                    .pipeline
                    .slot(device, queue, &self.values, self.range)
                {
                    Ok(slot) => {
                        let revision = self.revision;
                        let lane = self.lane.watch();
                        let panel = PanelSlot {
                            revision,
                            slot,
                            lane,
                        };
                        resources.slots.insert(key, panel);
                    }
                    Err(why) => {
                        resources.slots.remove(&key);
                        self.lane.report_failure(why);
                    }
                },
            }
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(resources) = resources.get::<SignedResources>()
            && let Some(panel) = resources.slots.get(&(self.lane.id(), self.panel))
        {
            resources.pipeline.draw(pass, &panel.slot);
        }
    }
}
