// What a mode's capability probe answers (the IPVS probe in backends/ipvs, the others in
// agent/modes.ts): usable, or why not, in words the fallback message repeats.
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };
