#version 330 core
// A colorbar: the colormap along the rectangle's height, high values at the top.
#include "colormap.glsl"

uniform int u_colormap;
in vec2 v_uv;
out vec4 o_color;

void main() { o_color = vec4(colormap(u_colormap, 1.0 - v_uv.y), 1.0); }
