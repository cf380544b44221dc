// The forward process on the GPU: x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε for every displayed pixel.
//
// x0 and one fixed draw of ε are uploaded once as textures; scrubbing t only rewrites the two
// scales below, so a 12-megapixel photo costs no CPU work per frame. The CPU path
// (src/diffusion/forward.rs `jump_to` + `values_to_rgb8`) is the reference: an off-screen render
// of this shader must match it within one grey level (tests/render.rs).

// Keep in sync with `ForwardUniforms` in src/render/forward.rs (16 bytes, std140-compatible).
struct ForwardUniforms {
    // √ᾱ_t, how much of the photo is left.
    signal_scale: f32,
    // √(1−ᾱ_t), how much noise has been added.
    noise_scale: f32,
    // 1 when the render target stores linear light (an sRGB format): encode the grey values.
    encode_srgb: u32,
    _padding: u32,
};

@group(0) @binding(0) var<uniform> uniforms: ForwardUniforms;
// The photo: rgba8unorm holding its bytes, so x0 = 2·byte/255 − 1 exactly as on the CPU.
@group(0) @binding(1) var x0_texture: texture_2d<f32>;
// ε per pixel and channel (rgba16float).
@group(0) @binding(2) var eps_texture: texture_2d<f32>;
@group(0) @binding(3) var image_sampler: sampler;

struct VertexOutput {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

// One triangle that covers the viewport; egui sets the viewport to the image's rectangle.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOutput {
    let corner = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    var out: VertexOutput;
    out.position = vec4<f32>(corner.x * 2.0 - 1.0, 1.0 - corner.y * 2.0, 0.0, 1.0);
    out.uv = corner;
    return out;
}

// sRGB's transfer function, for targets that expect linear light.
fn srgb_to_linear(encoded: vec3<f32>) -> vec3<f32> {
    let low = encoded / 12.92;
    let high = pow((encoded + 0.055) / 1.055, vec3<f32>(2.4));
    return select(high, low, encoded <= vec3<f32>(0.04045));
}

@fragment
fn fs_main(in: VertexOutput) -> @location(0) vec4<f32> {
    let x0 = textureSample(x0_texture, image_sampler, in.uv).rgb * 2.0 - 1.0;
    let eps = textureSample(eps_texture, image_sampler, in.uv).rgb;
    let x_t = uniforms.signal_scale * x0 + uniforms.noise_scale * eps;
    // The display convention of the program: −1 is black, +1 is white, beyond is clipped.
    var grey = clamp((x_t + 1.0) * 0.5, vec3<f32>(0.0), vec3<f32>(1.0));
    if (uniforms.encode_srgb == 1u) {
        grey = srgb_to_linear(grey);
    }
    return vec4<f32>(grey, 1.0);
}
