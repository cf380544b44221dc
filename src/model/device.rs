//! Where the networks run: a GPU when the program was built for one and it works, the CPU otherwise.

use std::fmt;

use candle_core::Device;

use crate::i18n::Lang;

/// Where the networks run, and why: shown beside the model in the window (in its language) and
/// printed by the command line and the benches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    /// A GPU (`api` is "CUDA" or "Metal") that passed a test computation.
    Gpu {
        /// The GPU library.
        api: &'static str,
    },
    /// The CPU, because this build has no GPU support.
    CpuWithoutGpuSupport,
    /// The CPU, because the GPU failed (`why`: what its library said, in English).
    CpuAfterGpuFailed {
        /// The GPU library.
        api: &'static str,
        /// What went wrong.
        why: String,
    },
    /// The CPU, as asked (`sample --device cpu`, `train --cpu`).
    CpuAsked,
}

impl DeviceChoice {
    /// Where the networks run and why, in `lang`.
    pub fn describe(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Gpu { api }, _) => format!("{api} GPU 0"),
            (Self::CpuWithoutGpuSupport, Lang::En) => "CPU: built without GPU support".to_owned(),
            (Self::CpuWithoutGpuSupport, Lang::Zh) => "CPU：此版本不能使用 GPU".to_owned(),
            (Self::CpuAfterGpuFailed { api, why }, Lang::En) => {
                format!("CPU: {api} is not usable ({why})")
            }
            (Self::CpuAfterGpuFailed { api, why }, Lang::Zh) => {
                format!("CPU：{api} 无法使用（{why}）")
            }
            (Self::CpuAsked, Lang::En) => "CPU, as asked".to_owned(),
            (Self::CpuAsked, Lang::Zh) => "CPU（按要求）".to_owned(),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(Lang::En))
    }
}

/// Picks the device for the networks, and why ("CUDA GPU 0", "CPU: built without GPU support",
/// "CPU: CUDA is not usable (…)").
///
/// A GPU is only tried in builds with the `cuda` or `metal` feature, and only kept after a small
/// computation on it succeeds. Never panics: a driver library that cannot be loaded (which some
/// GPU libraries report by panicking) falls back to the CPU.
pub fn choose_device() -> (Device, DeviceChoice) {
    gpu_or_cpu()
}

/// Where the user asked the networks to run (`--device` on the command line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DevicePreference {
    /// A GPU when built for one and it works, else the CPU ([`choose_device`]).
    #[default]
    Auto,
    /// The CPU, even where a GPU would work (for comparisons).
    Cpu,
}

/// The device for `preference`, with the reason in words (see [`choose_device`]).
pub fn device_for(preference: DevicePreference) -> (Device, DeviceChoice) {
    match preference {
        DevicePreference::Auto => choose_device(),
        DevicePreference::Cpu => (Device::Cpu, DeviceChoice::CpuAsked),
    }
}

/// Waits until the device has finished all work queued so far (a no-op on the CPU), so that wall
/// times of GPU work measure the work and not only its launch.
pub fn finish_queued_work(device: &Device) -> candle_core::Result<()> {
    device.synchronize()
}

#[cfg(feature = "cuda")]
fn gpu_or_cpu() -> (Device, DeviceChoice) {
    match try_gpu(|| Device::new_cuda(0)) {
        Ok(device) => (device, DeviceChoice::Gpu { api: "CUDA" }),
        Err(why) => (
            Device::Cpu,
            DeviceChoice::CpuAfterGpuFailed { api: "CUDA", why },
        ),
    }
}

#[cfg(all(feature = "metal", not(feature = "cuda")))]
fn gpu_or_cpu() -> (Device, DeviceChoice) {
    match try_gpu(|| Device::new_metal(0)) {
        Ok(device) => (device, DeviceChoice::Gpu { api: "Metal" }),
        Err(why) => (
            Device::Cpu,
            DeviceChoice::CpuAfterGpuFailed { api: "Metal", why },
        ),
    }
}

#[cfg(not(any(feature = "cuda", feature = "metal")))]
fn gpu_or_cpu() -> (Device, DeviceChoice) {
    (Device::Cpu, DeviceChoice::CpuWithoutGpuSupport)
}

/// Opens a GPU and runs a tiny convolution and matrix product on it, catching panics.
#[cfg(any(feature = "cuda", feature = "metal"))]
fn try_gpu(open: impl FnOnce() -> candle_core::Result<Device>) -> Result<Device, String> {
    use candle_core::Tensor;

    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let device = open()?;
        let x = Tensor::ones((1, 2, 4, 4), candle_core::DType::F32, &device)?;
        let k = Tensor::ones((2, 2, 3, 3), candle_core::DType::F32, &device)?;
        let y = x.conv2d(&k, 1, 1, 1, 1)?;
        let m = y.flatten_from(1)?.matmul(&y.flatten_from(1)?.t()?)?;
        let value = m.flatten_all()?.to_vec1::<f32>()?;
        // Centre pixels see 2·9 ones; the probe is only right if the GPU computed it.
        if value.first().is_some_and(|v| v.is_finite() && *v > 0.0) {
            Ok(device)
        } else {
            Err(candle_core::Error::Msg(
                "a test computation gave a wrong result".to_owned(),
            ))
        }
    }));
    match attempt {
        Ok(Ok(device)) => Ok(device),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the GPU library failed to load".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn always_gives_a_device_and_a_reason() {
        let (device, reason) = super::choose_device();
        for lang in crate::i18n::Lang::ALL {
            assert!(!reason.describe(lang).is_empty());
        }
        #[cfg(not(any(feature = "cuda", feature = "metal")))]
        assert!(device.is_cpu());
        let _ = device;
    }
}
