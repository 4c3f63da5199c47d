/* descriptor_tables.c: flat segments for rings 0 and 3, one TSS, the IDT. */
#include "descriptor_tables.h"

#include "monitor.h"

typedef struct __attribute__((packed)) {
    u16int limit_low, base_low;
    u8int base_middle, access, granularity, base_high;
} gdt_entry_t;

typedef struct __attribute__((packed)) {
    u16int base_lo, sel;
    u8int always0, flags;
    u16int base_hi;
} idt_entry_t;

typedef struct __attribute__((packed)) {
    u16int limit;
    u32int base;
} table_ptr_t;

typedef struct __attribute__((packed)) {
    u32int prev_tss, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    u32int eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32int es, cs, ss, ds, fs, gs, ldt;
    u16int trap, iomap_base;
} tss_entry_t;

extern void gdt_flush(u32int);
extern void idt_flush(u32int);
extern void tss_flush(void);
extern u32int isr_stubs[32]; /* boot.s: the 32 exception stubs' addresses */
extern void int80_stub(void);
extern void int81_stub(void);

static gdt_entry_t gdt[6];
static idt_entry_t idt[256];
static tss_entry_t tss;

static void gdt_set(int i, u32int base, u32int limit, u8int access, u8int gran)
{
    gdt[i].base_low = (u16int)(base & 0xFFFFu);
    gdt[i].base_middle = (u8int)((base >> 16) & 0xFFu);
    gdt[i].base_high = (u8int)((base >> 24) & 0xFFu);
    gdt[i].limit_low = (u16int)(limit & 0xFFFFu);
    gdt[i].granularity = (u8int)(((limit >> 16) & 0x0Fu) | (gran & 0xF0u));
    gdt[i].access = access;
}

static void idt_set(u8int n, u32int handler, u8int flags)
{
    idt[n].base_lo = (u16int)(handler & 0xFFFFu);
    idt[n].base_hi = (u16int)(handler >> 16);
    idt[n].sel = 0x08;
    idt[n].always0 = 0;
    idt[n].flags = flags;
}

void init_descriptor_tables(void)
{
    static table_ptr_t gdt_ptr, idt_ptr;
    gdt_set(0, 0, 0, 0, 0);
    gdt_set(1, 0, 0xFFFFFFFFu, 0x9A, 0xCF); /* kernel code 0x08 */
    gdt_set(2, 0, 0xFFFFFFFFu, 0x92, 0xCF); /* kernel data 0x10 */
    gdt_set(3, 0, 0xFFFFFFFFu, 0xFA, 0xCF); /* user code 0x1B */
    gdt_set(4, 0, 0xFFFFFFFFu, 0xF2, 0xCF); /* user data 0x23 */
    memset((u8int *)&tss, 0, sizeof tss);
    tss.ss0 = 0x10;
    tss.iomap_base = sizeof tss;
    gdt_set(5, (u32int)&tss, sizeof tss - 1u, 0x89, 0x00); /* TSS 0x28 */
    gdt_ptr.limit = sizeof gdt - 1u;
    gdt_ptr.base = (u32int)&gdt;
    gdt_flush((u32int)&gdt_ptr);
    tss_flush();
    for (u8int n = 0; n < 32; n++)
        idt_set(n, isr_stubs[n], 0x8E);
    idt_set(0x80, (u32int)int80_stub, 0xEE); /* callable from ring 3 */
    idt_set(0x81, (u32int)int81_stub, 0xEE);
    idt_ptr.limit = sizeof idt - 1u;
    idt_ptr.base = (u32int)&idt;
    idt_flush((u32int)&idt_ptr);
}

void set_kernel_stack(u32int stack) { tss.esp0 = stack; }

void isr_handler(registers_t *regs);
void isr_handler(registers_t *regs)
{
    u32int cr2;
    __asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
    monitor_write("EXCEPTION ");
    monitor_write_dec(regs->int_no);
    monitor_write(", error ");
    monitor_write_hex(regs->err_code);
    monitor_write(", eip ");
    monitor_write_hex(regs->eip);
    monitor_write(", cr2 ");
    monitor_write_hex(cr2);
    monitor_write("\n");
    kernel_exit(EXIT_EXCEPTION);
}
