//! Where the networks run: a GPU when the program was built for one and it works, the CPU otherwise.

use candle_core::Device;

/// Picks the device for the networks, with a short English reason for the About box and logs
/// ("CUDA GPU 0", "CPU: built without GPU support", "CUDA not usable (…); using the CPU").
///
/// A GPU is only tried in builds with the `cuda` or `metal` feature, and only kept after a small
/// computation on it succeeds. Never panics: a driver library that cannot be loaded (which some
/// GPU libraries report by panicking) falls back to the CPU.
pub fn choose_device() -> (Device, String) {
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
pub fn device_for(preference: DevicePreference) -> (Device, String) {
    match preference {
        DevicePreference::Auto => choose_device(),
        DevicePreference::Cpu => (Device::Cpu, "CPU (asked for with --device cpu)".to_owned()),
    }
}

/// Waits until the device has finished all work queued so far (a no-op on the CPU), so that wall
/// times of GPU work measure the work and not only its launch.
pub fn finish_queued_work(device: &Device) -> candle_core::Result<()> {
    device.synchronize()
}

#[cfg(feature = "cuda")]
fn gpu_or_cpu() -> (Device, String) {
    match try_gpu(|| Device::new_cuda(0)) {
        Ok(device) => (device, "CUDA GPU 0".to_owned()),
        Err(why) => (
            Device::Cpu,
            format!("CUDA not usable ({why}); using the CPU"),
        ),
    }
}

#[cfg(all(feature = "metal", not(feature = "cuda")))]
fn gpu_or_cpu() -> (Device, String) {
    match try_gpu(|| Device::new_metal(0)) {
        Ok(device) => (device, "Metal GPU 0".to_owned()),
        Err(why) => (
            Device::Cpu,
            format!("Metal not usable ({why}); using the CPU"),
        ),
    }
}

#[cfg(not(any(feature = "cuda", feature = "metal")))]
fn gpu_or_cpu() -> (Device, String) {
    (Device::Cpu, "CPU: built without GPU support".to_owned())
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
        assert!(!reason.is_empty());
        #[cfg(not(any(feature = "cuda", feature = "metal")))]
        assert!(device.is_cpu());
        let _ = device;
    }
}
