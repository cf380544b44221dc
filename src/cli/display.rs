//! Whether the window can open here, asked before the graphics libraries start: without a
//! display they print complaints of their own (Mesa's "XDG_RUNTIME_DIR is invalid", winit's
//! source paths) before the program could say anything. Asked first, the user reads one sentence.
//!
//! On Linux and the BSDs a display is a Wayland compositor (`WAYLAND_SOCKET`, or the socket
//! `WAYLAND_DISPLAY` names) or an X server (`DISPLAY`) that accepts a connection. Elsewhere the
//! system always has one.

use crate::i18n::Lang;

/// Why the window cannot open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoDisplay {
    /// Neither `DISPLAY` nor `WAYLAND_DISPLAY` is set (a server, SSH without X forwarding, CI).
    Unset,
    /// A display is named but nothing answers there (`DISPLAY=:1` after the X server ended).
    Unreachable {
        /// The variables as set, "DISPLAY=:55".
        named: String,
    },
}

impl NoDisplay {
    /// One sentence for the user.
    pub fn sentence(&self, lang: Lang) -> String {
        let others = lang.pick(
            "The export, sample, train and bench commands work without one.",
            "不需要显示器就能运行 export、sample、train 和 bench。",
        );
        match (self, lang) {
            (Self::Unset, Lang::En) => format!(
                "The window cannot open: there is no display (neither DISPLAY nor \
                 WAYLAND_DISPLAY is set). {others}"
            ),
            (Self::Unset, Lang::Zh) => {
                format!("窗口无法打开：没有显示器（DISPLAY 和 WAYLAND_DISPLAY 都未设置）。{others}")
            }
            (Self::Unreachable { named }, Lang::En) => {
                format!("The window cannot open: no display answers at {named}. {others}")
            }
            (Self::Unreachable { named }, Lang::Zh) => {
                format!("窗口无法打开：{named} 处没有显示器响应。{others}")
            }
        }
    }
}

/// Whether a display answers, asked without starting any graphics library.
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
pub fn check() -> Result<(), NoDisplay> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    if var("WAYLAND_SOCKET").is_some() {
        return Ok(());
    }
    let wayland = var("WAYLAND_DISPLAY");
    let x11 = var("DISPLAY");
    if wayland.is_none() && x11.is_none() {
        return Err(NoDisplay::Unset);
    }
    if wayland.as_deref().is_some_and(wayland_answers) || x11.as_deref().is_some_and(x_answers) {
        return Ok(());
    }
    let named = [("WAYLAND_DISPLAY", wayland), ("DISPLAY", x11)]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name}={v}")))
        .collect::<Vec<_>>()
        .join(", ");
    Err(NoDisplay::Unreachable { named })
}

/// Elsewhere (Windows, macOS) the system always has a display.
#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
pub fn check() -> Result<(), NoDisplay> {
    Ok(())
}

/// Whether the Wayland socket `name` (absolute, or in `XDG_RUNTIME_DIR`) accepts a connection.
#[cfg(unix)]
fn wayland_answers(name: &str) -> bool {
    let path = std::path::Path::new(name);
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(dir) => std::path::Path::new(&dir).join(name),
            None => return false,
        }
    };
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

/// Whether the X server `display` ("[host]:N[.screen]") accepts a connection: a local one on its
/// socket in /tmp/.X11-unix (or the abstract socket of that name, on Linux), a remote one (SSH's
/// forwarding, "localhost:10.0") on TCP port 6000 + N.
#[cfg(unix)]
fn x_answers(display: &str) -> bool {
    use std::net::ToSocketAddrs as _;
    let Some((host, rest)) = display.rsplit_once(':') else {
        return false;
    };
    let Ok(number) = rest.split('.').next().unwrap_or_default().parse::<u16>() else {
        return false;
    };
    let socket = format!("/tmp/.X11-unix/X{number}");
    if host.is_empty() || host == "unix" {
        return std::os::unix::net::UnixStream::connect(&socket).is_ok()
            || abstract_socket_answers(&socket);
    }
    let Some(port) = number.checked_add(6000) else {
        return false;
    };
    (host, port).to_socket_addrs().is_ok_and(|mut addresses| {
        addresses.any(|address| {
            std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(2))
                .is_ok()
        })
    })
}

/// Whether a Linux abstract socket of this name accepts a connection (Xorg and Xvfb listen on
/// one beside the file, which a container may not share).
#[cfg(target_os = "linux")]
fn abstract_socket_answers(name: &str) -> bool {
    use std::os::linux::net::SocketAddrExt as _;
    std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
        .and_then(|address| std::os::unix::net::UnixStream::connect_addr(&address))
        .is_ok()
}

#[cfg(all(unix, not(target_os = "linux")))]
fn abstract_socket_answers(_name: &str) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_name_the_display() {
        let unreachable = NoDisplay::Unreachable {
            named: "DISPLAY=:55".to_owned(),
        };
        assert!(unreachable.sentence(Lang::En).contains("DISPLAY=:55"));
        assert!(unreachable.sentence(Lang::Zh).contains("DISPLAY=:55"));
        assert!(NoDisplay::Unset.sentence(Lang::En).contains("no display"));
    }

    #[cfg(unix)]
    #[test]
    fn a_display_nobody_listens_on_does_not_answer() {
        assert!(!x_answers(":65000"));
        assert!(!x_answers("not a display"));
        assert!(!wayland_answers("/nonexistent/wayland-77"));
    }
}
