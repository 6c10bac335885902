//! Holding a process to the CPU share a Lambda memory size buys.
//!
//! Lambda allots CPU in proportion to memory: 1,769 MB is one vCPU (one vCPU-second
//! of credit per second), so 256 MB is 0.145 of one. An on-demand function's Init
//! phase is not throttled (it runs on a full vCPU, at most 10 s); the invocations
//! are. Here a cgroup's CFS bandwidth does the same: `quota / period` CPUs, with the
//! kernel's default 100 ms period (Lambda does not publish its own).
//!
//! cgroup v1 (`/sys/fs/cgroup/cpu/…/cpu.cfs_quota_us`) and v2 (`cpu.max`) are both
//! handled; writing them needs root. `CpuShare::create` says why when it cannot.

use std::path::PathBuf;

use anyhow::{Context, bail};

/// Lambda's memory per vCPU.
pub const MB_PER_VCPU: f64 = 1769.0;
const PERIOD_US: u64 = 100_000;

/// The vCPUs a memory size buys.
pub fn vcpus(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / MB_PER_VCPU
}

/// A CPU cgroup of our own, removed when dropped.
pub struct CpuShare {
    dir: PathBuf,
    v2: bool,
}

impl CpuShare {
    /// A fresh group named `name`, at one full vCPU until `set_vcpus`.
    pub fn create(name: &str) -> anyhow::Result<CpuShare> {
        let (root, v2) = if std::path::Path::new("/sys/fs/cgroup/cpu/cpu.cfs_period_us").exists() {
            (PathBuf::from("/sys/fs/cgroup/cpu"), false)
        } else if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            (PathBuf::from("/sys/fs/cgroup"), true)
        } else {
            bail!("no cgroup CPU controller at /sys/fs/cgroup (cgroup v1 cpu or v2)");
        };
        let dir = root.join(name);
        if !dir.exists() {
            std::fs::create_dir(&dir).with_context(|| format!("creating {} (needs root)", dir.display()))?;
        }
        let share = CpuShare { dir, v2 };
        if !v2 {
            share.write("cpu.cfs_period_us", &PERIOD_US.to_string())?;
        }
        share.set_vcpus(1.0)?;
        Ok(share)
    }

    pub fn set_vcpus(&self, vcpus: f64) -> anyhow::Result<()> {
        let quota = ((PERIOD_US as f64) * vcpus).round().max(1000.0) as u64;
        if self.v2 { self.write("cpu.max", &format!("{quota} {PERIOD_US}")) } else { self.write("cpu.cfs_quota_us", &quota.to_string()) }
    }

    /// Moves a process (all its threads) into the group.
    pub fn add(&self, pid: u32) -> anyhow::Result<()> {
        self.write("cgroup.procs", &pid.to_string())
    }

    fn write(&self, file: &str, value: &str) -> anyhow::Result<()> {
        let path = self.dir.join(file);
        std::fs::write(&path, value).with_context(|| format!("writing {value} to {}", path.display()))
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        // A group with processes cannot be removed; ours are killed by then.
        let _ = std::fs::remove_dir(&self.dir);
    }
}
