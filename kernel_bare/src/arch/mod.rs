//! Architecture layer: the only code with `unsafe` and `asm!`.
pub mod x86_64;
