//! Training loops in candle (`diffuscope train`): objectives, AdamW, EMA, progress, atomic checkpoints.
//! Never imports egui or wgpu.
