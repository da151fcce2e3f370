//! The hardware abstraction traits of the PandaGen interface reference ("Hardware Abstraction":
//! `CpuHal`, `MemoryHal`, `InterruptHal`). Architecture-independent code (`main.rs`) only sees
//! these; `arch::x86_64` implements them.

/// Why a memory operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryError {
    /// No free physical page is left in the pool.
    OutOfMemory,
    /// The address is not page aligned or not managed by this implementation.
    InvalidAddress,
    /// The page is already mapped (or covered by a large page).
    AlreadyMapped,
    /// The page is not mapped.
    NotMapped,
    /// The page was not allocated.
    NotAllocated,
}

/// The full contract of the reference; this image does not call every method (e.g. `halt`).
#[allow(dead_code)]
pub trait CpuHal {
    fn halt(&self);
    fn stack_pointer(&self) -> usize;
    fn instruction_pointer(&self) -> usize;
    fn cpu_id(&self) -> u32;
}

pub trait MemoryHal {
    fn allocate_page(&mut self) -> Result<usize, MemoryError>;
    fn free_page(&mut self, address: usize) -> Result<(), MemoryError>;
    fn map_page(&mut self, virtual_addr: usize, physical_addr: usize, writable: bool, executable: bool) -> Result<(), MemoryError>;
    fn unmap_page(&mut self, virtual_addr: usize) -> Result<(), MemoryError>;
}

pub trait InterruptHal {
    fn enable_interrupts(&mut self);
    fn disable_interrupts(&mut self);
    fn interrupts_enabled(&self) -> bool;
    fn register_handler(&mut self, vector: u8, handler: fn());
}

/// Page size of `MemoryHal`.
pub const PAGE_SIZE: usize = 4096;
