#version 330 core
// A rectangle covering the viewport (the caller sets the viewport to the view's rectangle),
// drawn as a 4-vertex triangle strip with no vertex buffer. v_uv: (0, 0) at the top left.
out vec2 v_uv;

void main() {
  vec2 p = vec2((gl_VertexID & 1) == 1 ? 1.0 : 0.0, (gl_VertexID & 2) == 2 ? 1.0 : 0.0);
  v_uv = vec2(p.x, 1.0 - p.y);
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
