// Signed values (ε̂, v̂, the guidance difference) as colours: PuOr, a diverging map that stays
// readable for colour-blind viewers, white at 0, purple for negative, orange for positive, clipped
// at ±range. The CPU reference is `diverging` in src/sample/colormap.rs, which uses the same seven
// stops; an off-screen render must match it within one level per channel (tests/render.rs).

// Keep in sync with `SignedUniforms` in src/render/signed.rs (16 bytes).
struct SignedUniforms {
    // The value drawn at the ends of the map (full purple / full orange).
    range: f32,
    // Width and height of the values in pixels (the texture is read texel by texel, no filtering).
    width: u32,
    height: u32,
    // 1 when the render target stores linear light (an sRGB format).
    encode_srgb: u32,
};

@group(0) @binding(0) var<uniform> uniforms: SignedUniforms;
// One value per texel (r32float, read with textureLoad: nearest neighbour, as digits are shown).
@group(0) @binding(1) var values: texture_2d<f32>;

struct VertexOutput {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOutput {
    let corner = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    var out: VertexOutput;
    out.position = vec4<f32>(corner.x * 2.0 - 1.0, 1.0 - corner.y * 2.0, 0.0, 1.0);
    out.uv = corner;
    return out;
}

// PuOr's seven stops from −range to +range, as bytes (the same table as colormap.rs).
fn diverging(position: f32) -> vec3<f32> {
    var stops = array<vec3<f32>, 7>(
        vec3<f32>(84.0, 39.0, 136.0),
        vec3<f32>(153.0, 142.0, 195.0),
        vec3<f32>(216.0, 218.0, 235.0),
        vec3<f32>(247.0, 247.0, 247.0),
        vec3<f32>(254.0, 224.0, 182.0),
        vec3<f32>(241.0, 163.0, 64.0),
        vec3<f32>(179.0, 88.0, 6.0),
    );
    let scaled = (clamp(position, -1.0, 1.0) + 1.0) * 0.5 * 6.0;
    let low = min(u32(floor(scaled)), 5u);
    let fraction = scaled - f32(low);
    return mix(stops[low], stops[low + 1u], fraction) / 255.0;
}

fn srgb_to_linear(encoded: vec3<f32>) -> vec3<f32> {
    let low = encoded / 12.92;
    let high = pow((encoded + 0.055) / 1.055, vec3<f32>(2.4));
    return select(high, low, encoded <= vec3<f32>(0.04045));
}

@fragment
fn fs_main(in: VertexOutput) -> @location(0) vec4<f32> {
    let size = vec2<f32>(f32(uniforms.width), f32(uniforms.height));
    let texel = min(vec2<u32>(in.uv * size), vec2<u32>(uniforms.width - 1u, uniforms.height - 1u));
    let value = textureLoad(values, texel, 0).r;
    var colour = diverging(value / uniforms.range);
    // NaN: black, as on the CPU. Tested on the bits: compilers may assume `value != value` is false.
    let bits = bitcast<u32>(value);
    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0u) {
        colour = vec3<f32>(0.0);
    }
    if (uniforms.encode_srgb == 1u) {
        colour = srgb_to_linear(colour);
    }
    return vec4<f32>(colour, 1.0);
}
