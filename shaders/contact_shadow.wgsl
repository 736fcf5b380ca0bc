// contact_shadow.wgsl — a soft shadow on the desk top where a seated person meets it, so keyed
// people sit on the furniture instead of floating in front of it. Drawn into the cached room
// (src/render/shadow.rs) with alpha blending, depth-tested but not written. room_quad.wgsl
// (the uniform, `quad.look.x` = darkness at the person's edge, and the vertex stage) is
// included below; the quad's top edge lies against the person.

// #include "room_quad.wgsl"

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    // Darkest against the person, fading towards the room; soft at both sides.
    let across = 2.0 * in.uv.x - 1.0;
    let sideways = clamp(1.0 - across * across, 0.0, 1.0);
    let away = 1.0 - in.uv.y;
    let alpha = quad.look.x * sideways * sideways * away * away;
    return vec4<f32>(0.0, 0.0, 0.0, alpha);
}
