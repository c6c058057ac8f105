/**
 * Hyper-V's enlightenments (src/paravirt/hyperv.ts, synic.ts, stimer.ts; `hyperv: true`, `--hyperv`), from inside
 * a guest on both engines (which must agree to the instruction) and, for the rules a guest reaches only with some
 * effort (a busy message slot, timers reprogrammed, snapshots), on the SynIC and timers themselves.
 *
 * Expected values from Microsoft's Hypervisor Top-Level Functional Specification (TLFS 6.0): the interface
 * signature "Microsoft Hv" at CPUID 0x40000000 and the privilege bits of 0x40000003 (EAX: AccessPartitionReferenceCounter
 * 1, AccessSynicRegs 2, AccessSyntheticTimerRegs 3, AccessHypercallMsrs 5, AccessVpIndex 6, AccessPartitionReferenceTsc
 * 9, AccessFrequencyRegs 11;
 * EBX: PostMessages 4, SignalEvents 5; EDX: frequency MSRs 8, direct-mode timers 19); SVERSION 1; a SINT masked at
 * reset (bit 16); the hypercall page enabled only once the guest OS ID is non-zero; the reference TSC page's
 * time, ((TSC × scale) >> 64) + offset, with a sequence other than 0 and 0xFFFFFFFF; HVMSG_TIMER_EXPIRED 0x80000010
 * with a 24-byte payload (timer index, expiration time, delivery time); a one-shot timer's expiration time is its
 * count and it clears its enable bit when it expires; an event flag already set raises no interrupt; an auto-EOI
 * SINT's vector is not in service while its handler runs; HV_STATUS_INVALID_HYPERCALL_CODE 2,
 * HV_STATUS_INVALID_CONNECTION_ID 0x12; a message whose slot is busy sets the slot's msg_pending flag and is
 * delivered at the guest's EOM. KVM's moving its own leaves to 0x40000100 is KVM's documented behaviour
 * (Documentation/virt/kvm/x86/cpuid.rst). QEMU's TCG offers none of this (its hv-* features need KVM), so there is
 * no QEMU run to compare with; kvm-unit-tests' hyperv_synic, hyperv_connections, hyperv_stimer and
 * hyperv_stimer_direct (scripts/kvm-unit-tests.mjs, in CI) are the other check.
 *
 * Guest source (nasm -f bin), loaded flat at 1 MiB, with hyperv-testdev (`testdev: true`):
 *
 * ```nasm
 * bits 32
 * org 0x100000
 * HV_PAGE equ 0x200000
 * SIMP    equ 0x201000
 * SIEFP   equ 0x202000
 * INPUT   equ 0x203000
 * TSC_PAGE equ 0x204000
 * APIC    equ 0xfee00000
 * start:
 *   mov esp, 0x90000
 *   mov edi, 0x80000 + 0x0d*8
 *   mov eax, gp
 *   call gate
 *   mov edi, 0x80000 + 0x06*8
 *   mov eax, ud
 *   call gate
 *   mov edi, 0x80000 + 0x50*8
 *   mov eax, msg_isr
 *   call gate
 *   mov edi, 0x80000 + 0x51*8
 *   mov eax, evt_isr
 *   call gate
 *   mov edi, 0x80000 + 0x52*8
 *   mov eax, direct_isr
 *   call gate
 *   lidt [idtr]
 *   mov dword [APIC + 0xf0], 0x1ff     ; SVR: APIC software-enabled
 *   mov eax, 0x40000000                ; Hyper-V's leaves
 *   cpuid
 *   mov [r_sig], eax
 *   mov [r_sig+4], ebx
 *   mov [r_sig+8], ecx
 *   mov [r_sig+12], edx
 *   mov eax, 0x40000003
 *   cpuid
 *   mov [r_feat], eax
 *   mov [r_feat+4], ebx
 *   mov [r_feat+8], edx
 *   mov eax, 0x40000100                ; KVM's, moved
 *   cpuid
 *   mov [r_kvm], ebx
 *   mov ecx, 0x40000002                ; VP_INDEX
 *   rdmsr
 *   mov [r_vp], eax
 *   mov ecx, 0x40000081                ; SVERSION
 *   rdmsr
 *   mov [r_sversion], eax
 *   mov ecx, 0x40000090                ; SINT0 at reset
 *   rdmsr
 *   mov [r_sint0], eax
 *   xor edx, edx                       ; the hypercall page before the guest OS ID: stays off
 *   mov ecx, 0x40000001
 *   mov eax, HV_PAGE | 1
 *   wrmsr
 *   rdmsr
 *   mov [r_hc_before], eax
 *   mov ecx, 0x40000000                ; GUEST_OS_ID
 *   mov edx, 0x8f000000
 *   xor eax, eax
 *   wrmsr
 *   xor edx, edx
 *   mov ecx, 0x40000001
 *   mov eax, HV_PAGE | 1
 *   wrmsr
 *   rdmsr
 *   mov [r_hc_after], eax
 *   mov ecx, 0x40000021                ; REFERENCE_TSC: the TSC page
 *   mov eax, TSC_PAGE | 1
 *   xor edx, edx
 *   wrmsr
 *   rdtsc
 *   mov [r_tsc], eax
 *   mov [r_tsc+4], edx
 *   mov ecx, 0x40000020                ; TIME_REF_COUNT right after
 *   rdmsr
 *   mov [r_ref], eax
 *   mov [r_ref+4], edx
 *   mov ecx, 0x40000083                ; SIMP
 *   mov eax, SIMP | 1
 *   wrmsr
 *   mov ecx, 0x40000082                ; SIEFP
 *   mov eax, SIEFP | 1
 *   wrmsr
 *   mov ecx, 0x40000080                ; SCONTROL
 *   mov eax, 1
 *   wrmsr
 *   mov ecx, 0x40000092                ; SINT2: vector 0x50
 *   mov eax, 0x50
 *   wrmsr
 *   mov ecx, 0x40000093                ; SINT3: vector 0x51, auto-EOI
 *   mov eax, 0x20051
 *   wrmsr
 *   sti
 *   mov ecx, 0x40000020                ; TIME_REF_COUNT + 1 ms: timer 0's expiry
 *   rdmsr
 *   add eax, 10000
 *   adc edx, 0
 *   mov [r_t0_count], eax
 *   mov [r_t0_count+4], edx
 *   mov ecx, 0x400000b1                ; STIMER0_COUNT
 *   wrmsr
 *   mov ecx, 0x400000b0                ; STIMER0_CONFIG: enable, one-shot, SINT2
 *   mov eax, 0x20001
 *   xor edx, edx
 *   wrmsr
 * .w1:
 *   hlt
 *   cmp dword [r_msgs], 0
 *   je .w1
 *   mov ecx, 0x400000b0
 *   rdmsr
 *   mov [r_t0_config], eax
 *   mov ecx, 0x400000b3                ; STIMER1_COUNT: period 0.5 ms
 *   mov eax, 5000
 *   xor edx, edx
 *   wrmsr
 *   mov ecx, 0x400000b2                ; STIMER1_CONFIG: enable, periodic, direct mode, vector 0x52
 *   mov eax, 0x1000 | (0x52 << 4) | 3
 *   wrmsr
 * .w2:
 *   hlt
 *   cmp dword [r_direct], 3
 *   jb .w2
 *   mov ecx, 0x400000b2
 *   xor eax, eax
 *   wrmsr
 *   mov dx, 0x3000                     ; hyperv-testdev: event connection 5 -> VP 0 SINT3,
 *   mov eax, (5 << 24) | (6 << 16) | 3 ;   message connection 7 -> VP 0 SINT2
 *   out dx, eax
 *   mov eax, (7 << 24) | (4 << 16) | 2
 *   out dx, eax
 *   mov eax, 0x1005d                   ; HvSignalEvent, fast: connection 5
 *   xor edx, edx
 *   xor ebx, ebx
 *   mov ecx, 5
 *   call HV_PAGE
 *   mov [r_evt_status], eax
 *   mov eax, 0x1005d                   ; again: the flag is set already
 *   xor edx, edx
 *   xor ebx, ebx
 *   mov ecx, 5
 *   call HV_PAGE
 *   mov [r_evt_status2], eax
 *   mov eax, [APIC + 0x120]            ; ISR, vectors 0x40-0x5F, after the auto-EOI handler
 *   mov [r_isr_after], eax
 *   mov dword [INPUT], 7               ; HvPostMessage: connection 7, type 0x12345678, 8 bytes
 *   mov dword [INPUT+8], 0x12345678
 *   mov dword [INPUT+12], 8
 *   mov dword [INPUT+16], 0x55667788
 *   mov dword [INPUT+20], 0x11223344
 *   mov eax, 0x5c
 *   xor edx, edx
 *   xor ebx, ebx
 *   mov ecx, INPUT
 *   xor esi, esi
 *   xor edi, edi
 *   call HV_PAGE
 *   mov [r_post_status], eax
 * .w3:
 *   cmp dword [r_msgs], 2
 *   jb .w3
 *   mov dword [INPUT], 8               ; no one listens on connection 8
 *   mov eax, 0x5c
 *   xor edx, edx
 *   xor ebx, ebx
 *   mov ecx, INPUT
 *   call HV_PAGE
 *   mov [r_noconn_status], eax
 *   mov eax, 0x99                      ; no such call
 *   xor edx, edx
 *   call HV_PAGE
 *   mov [r_badcode_status], eax
 *   cli
 *   mov al, 0
 *   out 0xf4, al                       ; isa-debug-exit: status 1
 *   hlt
 *
 * gate:                                ; EAX = handler, EDI = IDT entry
 *   mov [edi], ax
 *   mov word [edi+2], 0x10
 *   mov word [edi+4], 0x8e00
 *   shr eax, 16
 *   mov [edi+6], ax
 *   ret
 *
 * msg_isr:                             ; SINT2, vector 0x50: copy the slot, free it, EOI
 *   pushad
 *   mov eax, [APIC + 0x120]
 *   mov [r_isr_msg], eax
 *   mov edi, [r_msgs]
 *   imul edi, 32
 *   add edi, r_slots
 *   mov esi, SIMP + 2*256
 *   mov ecx, 8
 *   rep movsd
 *   inc dword [r_msgs]
 *   mov dword [SIMP + 2*256], 0
 *   test byte [SIMP + 2*256 + 5], 1
 *   jz .no_eom
 *   mov ecx, 0x40000084
 *   xor eax, eax
 *   xor edx, edx
 *   wrmsr
 * .no_eom:
 *   mov dword [APIC + 0xb0], 0
 *   popad
 *   iret
 *
 * evt_isr:                             ; SINT3, vector 0x51, auto-EOI: no EOI
 *   pushad
 *   inc dword [r_events]
 *   mov eax, [APIC + 0x120]
 *   mov [r_isr_evt], eax
 *   mov eax, [SIEFP + 3*256]
 *   mov [r_flags], eax
 *   popad
 *   iret
 *
 * direct_isr:                          ; timer 1, direct mode, vector 0x52
 *   inc dword [r_direct]
 *   mov dword [APIC + 0xb0], 0
 *   iret
 *
 * gp:
 *   mov al, 2
 *   out 0xf4, al                       ; status 5
 *   hlt
 * ud:
 *   mov al, 3
 *   out 0xf4, al                       ; status 7
 *   hlt
 *
 * idtr: dw 0x7ff
 *       dd 0x80000
 * align 4
 * results:
 * r_sig:            times 4 dd 0
 * r_feat:           times 3 dd 0
 * r_kvm:            dd 0
 * r_vp:             dd 0
 * r_sversion:       dd 0
 * r_sint0:          dd 0
 * r_hc_before:      dd 0
 * r_hc_after:       dd 0
 * r_t0_count:       dd 0, 0
 * r_t0_config:      dd 0
 * r_direct:         dd 0
 * r_evt_status:     dd 0
 * r_evt_status2:    dd 0
 * r_isr_after:      dd 0
 * r_post_status:    dd 0
 * r_noconn_status:  dd 0
 * r_badcode_status: dd 0
 * r_msgs:           dd 0
 * r_isr_msg:        dd 0
 * r_events:         dd 0
 * r_isr_evt:        dd 0
 * r_flags:          dd 0
 * r_slots:          times 16 dd 0
 * r_tsc:            dd 0, 0
 * r_ref:            dd 0, 0
 * ```
 */
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { createEngine } from "../../src/node/engines.js";
import { Pc } from "../../src/machine/pc.js";
import type { EngineKind } from "../../src/engine/engine.js";
import { VirtualClock } from "../../src/vmm/clock.js";
import { realSegment } from "../../src/vmm/cpu-state.js";
import { Synic, SYNIC_MSR_SCONTROL, SYNIC_MSR_SVERSION, SYNIC_MSR_SIMP, SYNIC_MSR_EOM, SYNIC_MSR_SINT0 } from "../../src/paravirt/synic.js";
import { SyntheticTimer, HVMSG_TIMER_EXPIRED } from "../../src/paravirt/stimer.js";

const GUEST = new Uint8Array([
  0xbc, 0x00, 0x00, 0x09, 0x00, 0xbf, 0x68, 0x00, 0x08, 0x00, 0xb8, 0x51, 0x03, 0x10, 0x00, 0xe8, 0xa2, 0x02, 0x00, 0x00, 0xbf, 0x30, 0x00, 0x08,
  0x00, 0xb8, 0x56, 0x03, 0x10, 0x00, 0xe8, 0x93, 0x02, 0x00, 0x00, 0xbf, 0x80, 0x02, 0x08, 0x00, 0xb8, 0xcd, 0x02, 0x10, 0x00, 0xe8, 0x84, 0x02,
  0x00, 0x00, 0xbf, 0x88, 0x02, 0x08, 0x00, 0xb8, 0x23, 0x03, 0x10, 0x00, 0xe8, 0x75, 0x02, 0x00, 0x00, 0xbf, 0x90, 0x02, 0x08, 0x00, 0xb8, 0x40,
  0x03, 0x10, 0x00, 0xe8, 0x66, 0x02, 0x00, 0x00, 0x0f, 0x01, 0x1d, 0x5b, 0x03, 0x10, 0x00, 0xc7, 0x05, 0xf0, 0x00, 0xe0, 0xfe, 0xff, 0x01, 0x00,
  0x00, 0xb8, 0x00, 0x00, 0x00, 0x40, 0x0f, 0xa2, 0xa3, 0x64, 0x03, 0x10, 0x00, 0x89, 0x1d, 0x68, 0x03, 0x10, 0x00, 0x89, 0x0d, 0x6c, 0x03, 0x10,
  0x00, 0x89, 0x15, 0x70, 0x03, 0x10, 0x00, 0xb8, 0x03, 0x00, 0x00, 0x40, 0x0f, 0xa2, 0xa3, 0x74, 0x03, 0x10, 0x00, 0x89, 0x1d, 0x78, 0x03, 0x10,
  0x00, 0x89, 0x15, 0x7c, 0x03, 0x10, 0x00, 0xb8, 0x00, 0x01, 0x00, 0x40, 0x0f, 0xa2, 0x89, 0x1d, 0x80, 0x03, 0x10, 0x00, 0xb9, 0x02, 0x00, 0x00,
  0x40, 0x0f, 0x32, 0xa3, 0x84, 0x03, 0x10, 0x00, 0xb9, 0x81, 0x00, 0x00, 0x40, 0x0f, 0x32, 0xa3, 0x88, 0x03, 0x10, 0x00, 0xb9, 0x90, 0x00, 0x00,
  0x40, 0x0f, 0x32, 0xa3, 0x8c, 0x03, 0x10, 0x00, 0x31, 0xd2, 0xb9, 0x01, 0x00, 0x00, 0x40, 0xb8, 0x01, 0x00, 0x20, 0x00, 0x0f, 0x30, 0x0f, 0x32,
  0xa3, 0x90, 0x03, 0x10, 0x00, 0xb9, 0x00, 0x00, 0x00, 0x40, 0xba, 0x00, 0x00, 0x00, 0x8f, 0x31, 0xc0, 0x0f, 0x30, 0x31, 0xd2, 0xb9, 0x01, 0x00,
  0x00, 0x40, 0xb8, 0x01, 0x00, 0x20, 0x00, 0x0f, 0x30, 0x0f, 0x32, 0xa3, 0x94, 0x03, 0x10, 0x00, 0xb9, 0x21, 0x00, 0x00, 0x40, 0xb8, 0x01, 0x40,
  0x20, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0x0f, 0x31, 0xa3, 0x14, 0x04, 0x10, 0x00, 0x89, 0x15, 0x18, 0x04, 0x10, 0x00, 0xb9, 0x20, 0x00, 0x00, 0x40,
  0x0f, 0x32, 0xa3, 0x1c, 0x04, 0x10, 0x00, 0x89, 0x15, 0x20, 0x04, 0x10, 0x00, 0xb9, 0x83, 0x00, 0x00, 0x40, 0xb8, 0x01, 0x10, 0x20, 0x00, 0x0f,
  0x30, 0xb9, 0x82, 0x00, 0x00, 0x40, 0xb8, 0x01, 0x20, 0x20, 0x00, 0x0f, 0x30, 0xb9, 0x80, 0x00, 0x00, 0x40, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f,
  0x30, 0xb9, 0x92, 0x00, 0x00, 0x40, 0xb8, 0x50, 0x00, 0x00, 0x00, 0x0f, 0x30, 0xb9, 0x93, 0x00, 0x00, 0x40, 0xb8, 0x51, 0x00, 0x02, 0x00, 0x0f,
  0x30, 0xfb, 0xb9, 0x20, 0x00, 0x00, 0x40, 0x0f, 0x32, 0x05, 0x10, 0x27, 0x00, 0x00, 0x83, 0xd2, 0x00, 0xa3, 0x98, 0x03, 0x10, 0x00, 0x89, 0x15,
  0x9c, 0x03, 0x10, 0x00, 0xb9, 0xb1, 0x00, 0x00, 0x40, 0x0f, 0x30, 0xb9, 0xb0, 0x00, 0x00, 0x40, 0xb8, 0x01, 0x00, 0x02, 0x00, 0x31, 0xd2, 0x0f,
  0x30, 0xf4, 0x83, 0x3d, 0xc0, 0x03, 0x10, 0x00, 0x00, 0x74, 0xf6, 0xb9, 0xb0, 0x00, 0x00, 0x40, 0x0f, 0x32, 0xa3, 0xa0, 0x03, 0x10, 0x00, 0xb9,
  0xb3, 0x00, 0x00, 0x40, 0xb8, 0x88, 0x13, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0xb9, 0xb2, 0x00, 0x00, 0x40, 0xb8, 0x23, 0x15, 0x00, 0x00, 0x0f,
  0x30, 0xf4, 0x83, 0x3d, 0xa4, 0x03, 0x10, 0x00, 0x03, 0x72, 0xf6, 0xb9, 0xb2, 0x00, 0x00, 0x40, 0x31, 0xc0, 0x0f, 0x30, 0x66, 0xba, 0x00, 0x30,
  0xb8, 0x03, 0x00, 0x06, 0x05, 0xef, 0xb8, 0x02, 0x00, 0x04, 0x07, 0xef, 0xb8, 0x5d, 0x00, 0x01, 0x00, 0x31, 0xd2, 0x31, 0xdb, 0xb9, 0x05, 0x00,
  0x00, 0x00, 0xe8, 0x01, 0xfe, 0x0f, 0x00, 0xa3, 0xa8, 0x03, 0x10, 0x00, 0xb8, 0x5d, 0x00, 0x01, 0x00, 0x31, 0xd2, 0x31, 0xdb, 0xb9, 0x05, 0x00,
  0x00, 0x00, 0xe8, 0xe9, 0xfd, 0x0f, 0x00, 0xa3, 0xac, 0x03, 0x10, 0x00, 0xa1, 0x20, 0x01, 0xe0, 0xfe, 0xa3, 0xb0, 0x03, 0x10, 0x00, 0xc7, 0x05,
  0x00, 0x30, 0x20, 0x00, 0x07, 0x00, 0x00, 0x00, 0xc7, 0x05, 0x08, 0x30, 0x20, 0x00, 0x78, 0x56, 0x34, 0x12, 0xc7, 0x05, 0x0c, 0x30, 0x20, 0x00,
  0x08, 0x00, 0x00, 0x00, 0xc7, 0x05, 0x10, 0x30, 0x20, 0x00, 0x88, 0x77, 0x66, 0x55, 0xc7, 0x05, 0x14, 0x30, 0x20, 0x00, 0x44, 0x33, 0x22, 0x11,
  0xb8, 0x5c, 0x00, 0x00, 0x00, 0x31, 0xd2, 0x31, 0xdb, 0xb9, 0x00, 0x30, 0x20, 0x00, 0x31, 0xf6, 0x31, 0xff, 0xe8, 0x91, 0xfd, 0x0f, 0x00, 0xa3,
  0xb4, 0x03, 0x10, 0x00, 0x83, 0x3d, 0xc0, 0x03, 0x10, 0x00, 0x02, 0x72, 0xf7, 0xc7, 0x05, 0x00, 0x30, 0x20, 0x00, 0x08, 0x00, 0x00, 0x00, 0xb8,
  0x5c, 0x00, 0x00, 0x00, 0x31, 0xd2, 0x31, 0xdb, 0xb9, 0x00, 0x30, 0x20, 0x00, 0xe8, 0x66, 0xfd, 0x0f, 0x00, 0xa3, 0xb8, 0x03, 0x10, 0x00, 0xb8,
  0x99, 0x00, 0x00, 0x00, 0x31, 0xd2, 0xe8, 0x55, 0xfd, 0x0f, 0x00, 0xa3, 0xbc, 0x03, 0x10, 0x00, 0xfa, 0xb0, 0x00, 0xe6, 0xf4, 0xf4, 0x66, 0x89,
  0x07, 0x66, 0xc7, 0x47, 0x02, 0x10, 0x00, 0x66, 0xc7, 0x47, 0x04, 0x00, 0x8e, 0xc1, 0xe8, 0x10, 0x66, 0x89, 0x47, 0x06, 0xc3, 0x60, 0xa1, 0x20,
  0x01, 0xe0, 0xfe, 0xa3, 0xc4, 0x03, 0x10, 0x00, 0x8b, 0x3d, 0xc0, 0x03, 0x10, 0x00, 0x6b, 0xff, 0x20, 0x81, 0xc7, 0xd4, 0x03, 0x10, 0x00, 0xbe,
  0x00, 0x12, 0x20, 0x00, 0xb9, 0x08, 0x00, 0x00, 0x00, 0xf3, 0xa5, 0xff, 0x05, 0xc0, 0x03, 0x10, 0x00, 0xc7, 0x05, 0x00, 0x12, 0x20, 0x00, 0x00,
  0x00, 0x00, 0x00, 0xf6, 0x05, 0x05, 0x12, 0x20, 0x00, 0x01, 0x74, 0x0b, 0xb9, 0x84, 0x00, 0x00, 0x40, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30, 0xc7,
  0x05, 0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x61, 0xcf, 0x60, 0xff, 0x05, 0xc8, 0x03, 0x10, 0x00, 0xa1, 0x20, 0x01, 0xe0, 0xfe, 0xa3,
  0xcc, 0x03, 0x10, 0x00, 0xa1, 0x00, 0x23, 0x20, 0x00, 0xa3, 0xd0, 0x03, 0x10, 0x00, 0x61, 0xcf, 0xff, 0x05, 0xa4, 0x03, 0x10, 0x00, 0xc7, 0x05,
  0xb0, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00, 0xcf, 0xb0, 0x02, 0xe6, 0xf4, 0xf4, 0xb0, 0x03, 0xe6, 0xf4, 0xf4, 0xff, 0x07, 0x00, 0x00, 0x08,
  0x00, 0x90, 0x90, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00,
]);
/** The guest's results: the last 48 dwords of the image (r_sig … r_ref). */
const RESULTS = GUEST.length - 48 * 4;

/** The guest to its end; with `every`, stopped every that many instructions and saved and restored into a new machine. */
async function runGuest(kind: EngineKind, every = Infinity) {
  const ram = 16 << 20;
  const machine = async () => new Pc({ engine: await createEngine(kind, ram), ramBytes: ram, onSerial: () => {}, clock: "deterministic", hyperv: true, testdev: true });
  let pc = await machine();
  pc.loadKernel(GUEST, { path: "hyperv-guest" });
  let stop = pc.vm.run(Math.min(every, 1e8));
  let restores = 0;
  while (stop.kind === "budget" && pc.vm.core.getRetired() < 1e8) {
    const bytes = pc.saveSnapshot();
    pc = await machine();
    pc.loadSnapshot(bytes);
    restores++;
    stop = pc.vm.run(every);
  }
  return { pc, stop, restores };
}

/** The guest's results (and how many times it was restored on the way). */
async function run(kind: EngineKind, every = Infinity) {
  const { pc, stop, restores } = await runGuest(kind, every);
  const r = new DataView(pc.vm.readPhysical(0x100000 + RESULTS, 48 * 4).buffer);
  const w = Array.from({ length: 48 }, (_, i) => r.getUint32(i * 4, true));
  const text = (i: number) => String.fromCharCode(...new Uint8Array(r.buffer, i * 4, 12));
  const [kvm, vp, sversion, sint0, hypercallBefore, hypercallAfter, t0Count, t0CountHigh, t0Config, direct, eventStatus, eventStatus2,
    isrAfter, postStatus, noConnectionStatus, badCodeStatus, messages, isrInMessage, events, isrInEvent, flags] = w.slice(7, 28);
  const slot = (n: number) => w.slice(28 + 8 * n, 36 + 8 * n);
  return {
    stop, signature: text(1), features: w.slice(4, 7), kvm, vp, sversion, sint0, hypercallBefore, hypercallAfter, t0Count, t0CountHigh,
    t0Config, direct, eventStatus, eventStatus2, isrAfter, postStatus, noConnectionStatus, badCodeStatus, messages, isrInMessage, events,
    isrInEvent, flags, timerMessage: slot(0), postedMessage: slot(1), retired: pc.vm.core.getRetired(), restores,
    tsc: r.getBigUint64(44 * 4, true), reference: r.getBigUint64(46 * 4, true), tscPage: pc.vm.readPhysical(0x204000, 24),
  };
}

describe("Hyper-V's enlightenments in a guest (TLFS)", () => {
  it("CPUID, the SynIC's MSRs, a one-shot and a direct-mode periodic timer, HvSignalEvent and HvPostMessage; both engines agree", async () => {
    const wasm = await run("wasm");
    expect(await run("js")).toEqual(wasm);
    expect(wasm.stop).toEqual({ kind: "debug-exit", status: 1 });
    expect(wasm.signature).toBe("Microsoft Hv");
    const [eax, ebx, edx] = wasm.features;
    for (const bit of [1, 2, 3, 5, 6, 9, 11]) expect((eax! >>> bit) & 1).toBe(1);
    for (const bit of [4, 5]) expect((ebx! >>> bit) & 1).toBe(1);
    for (const bit of [8, 19]) expect((edx! >>> bit) & 1).toBe(1);
    expect(wasm.kvm).toBe(0x4b4d564b);            // "KVMK": KVM's signature at 0x40000100
    expect(wasm.vp).toBe(0);
    expect(wasm.sversion).toBe(1);
    expect(wasm.sint0).toBe(0x10000);             // masked
    expect(wasm.hypercallBefore).toBe(0);         // no guest OS ID yet: the write is ignored
    expect(wasm.hypercallAfter).toBe(0x200001);
    // The TSC page: a valid sequence, and the reference time it gives for the guest's RDTSC is the counter's (which the
    // guest read two instructions later: the same 100 ns unit, or the next).
    const page = new DataView(wasm.tscPage.buffer);
    const sequence = page.getUint32(0, true), scale = page.getBigUint64(8, true), offset = page.getBigInt64(16, true);
    expect(sequence !== 0 && sequence !== 0xffffffff).toBe(true);
    expect(wasm.reference - (((wasm.tsc * scale) >> 64n) + offset)).toBeLessThanOrEqual(1n);
    expect(wasm.reference - (((wasm.tsc * scale) >> 64n) + offset)).toBeGreaterThanOrEqual(0n);
    expect(wasm.reference).toBeGreaterThan(0n);
    // The one-shot timer's message: type, payload size, no pending flag, index 0, expiration = its count, delivered then or after.
    const [type, sizeAndFlags, , , index, , expiration, expirationHigh] = wasm.timerMessage;
    expect([type, sizeAndFlags, index]).toEqual([HVMSG_TIMER_EXPIRED, 24, 0]);
    expect([expiration, expirationHigh]).toEqual([wasm.t0Count, wasm.t0CountHigh]);
    expect(wasm.t0Config).toBe(0x20000);          // SINT2 still, enable cleared by the expiry
    expect(wasm.direct).toBe(3);
    expect(wasm.isrInMessage & (1 << 16)).not.toBe(0); // vector 0x50 (SINT2, EOI'd) in service in its handler
    expect([wasm.eventStatus, wasm.eventStatus2]).toEqual([0, 0]);
    expect(wasm.events).toBe(1);                  // the second signal found the flag set
    expect(wasm.flags).toBe(1 << 5);              // event flag 5 (the connection) of SINT3
    expect(wasm.isrInEvent & (1 << 17)).toBe(0);  // vector 0x51 is auto-EOI: not in service in its handler
    expect(wasm.isrAfter).toBe(0);
    expect(wasm.postStatus).toBe(0);
    expect(wasm.postedMessage.slice(0, 2)).toEqual([0x12345678, 8]);
    expect(wasm.postedMessage.slice(4, 6)).toEqual([0x55667788, 0x11223344]);
    expect(wasm.messages).toBe(2);
    expect(wasm.noConnectionStatus).toBe(0x12);
    expect(wasm.badCodeStatus).toBe(2);
  });

  it.each(["wasm", "js"] as const)("the same guest stopped some 40 times, saved and restored into a new machine (hyperv-testdev's connections with it), ends the same (%s engine)", async (kind) => {
    const whole = await run(kind);
    const cut = await run(kind, Math.ceil(whole.retired / 40));
    expect(cut.restores).toBeGreaterThanOrEqual(30);
    expect({ ...cut, restores: 0 }).toEqual(whole);
    expect(whole.postStatus).toBe(0); // (connection 7 was listened on, in the machine the post was made in)
  });

  it("hyperv-testdev in snapshots: its connections, and a message waiting for its slot, come back", async () => {
    const { pc, stop } = await runGuest("wasm");
    expect(stop).toEqual({ kind: "debug-exit", status: 1 });
    // The guest left connection 7 (messages to VP 0 SINT2) and its SynIC on; fill SINT2's slot so that a post waits.
    const slot = 0x201000 + 2 * 256;
    pc.vm.writePhysical(slot, Uint8Array.of(1));
    const payload = Uint8Array.of(1, 2, 3, 4);
    expect(pc.hyperv!.post(7, 0xabcd, payload)).toBe(0);       // waits for the slot (msg_pending set)
    expect(pc.hyperv!.post(7, 0xabcd, payload)).toBe(0x13);    // HV_STATUS_INSUFFICIENT_BUFFERS: one waits already
    expect(pc.hyperv!.post(9, 0xabcd, payload)).toBe(0x12);    // HV_STATUS_INVALID_CONNECTION_ID: none listens on 9
    const bytes = pc.saveSnapshot();
    const ram = 16 << 20;
    const b = new Pc({ engine: await createEngine("wasm", ram), ramBytes: ram, onSerial: () => {}, clock: "deterministic", hyperv: true, testdev: true });
    b.loadSnapshot(bytes);
    expect(b.hyperv!.post(7, 0xabcd, payload)).toBe(0x13);     // the waiting message came back, and the connection
    expect(b.hyperv!.post(9, 0xabcd, payload)).toBe(0x12);
    b.vm.writePhysical(slot, new Uint8Array(4));               // the guest frees the slot and writes EOM
    b.hyperv!.vcpus[0]!.synic.writeMsr(SYNIC_MSR_EOM, 0n);
    const m = new DataView(b.vm.readPhysical(slot, 24).buffer);
    expect([m.getUint32(0, true), m.getUint8(4), m.getUint32(16, true)]).toEqual([0xabcd, 4, 0x04030201]);
  });

  it("are off unless asked for: Hyper-V's leaves are KVM's, its MSRs raise #GP", async () => {
    const ram = 16 << 20;
    const pc = new Pc({ engine: await createEngine("js", ram), ramBytes: ram, onSerial: () => {}, clock: "deterministic", testdev: true });
    pc.loadKernel(GUEST, { path: "hyperv-guest" });
    const stop = pc.vm.run(1e8);
    expect(stop).toEqual({ kind: "debug-exit", status: 5 }); // the guest's #GP handler: RDMSR VP_INDEX
    const r = new DataView(pc.vm.readPhysical(0x100000 + RESULTS, 16).buffer);
    expect(String.fromCharCode(...new Uint8Array(r.buffer, 4, 12))).toBe("KVMKVMKVM\0\0\0");
  });

  it("are in the PC's snapshots: SynIC registers and timers come back; a machine without them refuses the snapshot", async () => {
    const ram = 16 << 20;
    const machine = async (hyperv: boolean) => new Pc({ engine: await createEngine("wasm", ram), ramBytes: ram, clock: "deterministic", hyperv, cpus: 2 });
    const a = await machine(true);
    const synic = a.hyperv!.vcpus[1]!.synic;
    synic.writeMsr(SYNIC_MSR_SIMP, 0x5001n);
    synic.writeMsr(SYNIC_MSR_SINT0 + 3, 0x20051n);
    a.hyperv!.vcpus[1]!.timers[2]!.writeCount(1234n);
    const bytes = a.saveSnapshot();
    const b = await machine(true);
    b.loadSnapshot(bytes);
    expect(b.hyperv!.vcpus[1]!.synic.readMsr(SYNIC_MSR_SIMP)).toBe(0x5001n);
    expect(b.hyperv!.vcpus[1]!.synic.autoEoi(0x51)).toBe(true);
    expect(b.hyperv!.vcpus[1]!.timers[2]!.readMsr(false)).toBe(1234n);
    await expect(machine(false).then((c) => c.loadSnapshot(bytes))).rejects.toThrow("snapshot: its machine's Hyper-V enlightenments (--hyperv) is on, this one's none");
  });

  it("a hypercall outside protected mode at CPL 0 is #UD at the VMCALL, the call not made (TLFS 3.2)", async () => {
    const ram = 1 << 20;
    const pc = new Pc({ engine: await createEngine("js", ram), ramBytes: ram, clock: "deterministic", hyperv: true });
    const code = [
      0x66, 0xb9, 0x00, 0x00, 0x00, 0x40,  // mov ecx, 0x40000000 (GUEST_OS_ID)
      0x66, 0x31, 0xc0,                    // xor eax, eax
      0x66, 0xba, 0x00, 0x00, 0x00, 0x8f,  // mov edx, 0x8f000000
      0x0f, 0x30,                          // wrmsr: hypercalls on
      0x66, 0xb8, 0x5d, 0x00, 0x01, 0x00,  // mov eax, 0x1005d (HvSignalEvent, fast)
      0x66, 0x31, 0xd2,                    // xor edx, edx
      0x0f, 0x01, 0xc1,                    // vmcall (at 0x101a)
      0xf4,
    ];
    pc.vm.writePhysical(0x1000, Uint8Array.from(code));
    // Real-mode vectors: vector v → a HLT at 0x3000 + v.
    const ivt = new Uint8Array(1024), view = new DataView(ivt.buffer);
    for (let v = 0; v < 256; v++) view.setUint16(v * 4, 0x3000 + v, true);
    pc.vm.writePhysical(0, ivt);
    pc.vm.writePhysical(0x3000, new Uint8Array(256).fill(0xf4));
    pc.vm.setState({ cr0: 0x10, eip: 0x1000, eflags: 2, esp: 0x8000, cs: realSegment(0, true), ds: realSegment(0), ss: realSegment(0), es: realSegment(0) });
    expect(pc.vm.run(1e6).kind).toBe("halted");
    const st = pc.vm.getState();
    expect(st.eip).toBe(0x3000 + 6 + 1);          // in the #UD vector's HLT
    expect(pc.vm.memory.readU32(0x8000 - 6) & 0xffff).toBe(0x101a); // the IP it pushed: the VMCALL's
    expect(st.eax).toBe(0x1005d);                 // no status written
  });

  it("need the local APICs: refused without them, by the PC and by the CLI", async () => {
    const ram = 16 << 20;
    const engine = await createEngine("js", ram);
    expect(() => new Pc({ engine, ramBytes: ram, apic: false, hyperv: true })).toThrow(/SynIC interrupts through the local APICs/);
    const cli = new URL("../../bin/symbiont.js", import.meta.url).pathname;
    const r = spawnSync(process.execPath, [cli, "run", "--hyperv", "--no-apic", "kernel.elf"], { encoding: "utf8", input: "" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("symbiont: --hyperv: the SynIC interrupts through the local APICs: not with --no-apic");
  });
});

/** A SynIC over 64 KiB of memory, its message page at 0x1000, and the vectors it raised. */
function synicOnMemory() {
  const ram = new Uint8Array(0x10000);
  const raised: number[] = [];
  const synic = new Synic({
    readU32: (a) => new DataView(ram.buffer).getUint32(a, true), readU8: (a) => ram[a]!,
    write: (a, b) => ram.set(b, a), isRam: (a, n) => a + n <= ram.length, raise: (v) => raised.push(v),
  });
  expect(synic.writeMsr(SYNIC_MSR_SIMP, 0x1001n)).toBe(true);
  expect(synic.writeMsr(SYNIC_MSR_SCONTROL, 1n)).toBe(true);
  const slot = (sint: number) => new DataView(ram.buffer, 0x1000 + 256 * sint, 256);
  return { ram, raised, synic, slot };
}

describe("the SynIC (TLFS 11)", () => {
  it("refuses what the specification refuses: SVERSION writes, an unmasked SINT below vector 16, a page outside RAM", () => {
    const { synic } = synicOnMemory();
    expect(synic.writeMsr(SYNIC_MSR_SVERSION, 2n)).toBe(false);
    expect(synic.writeMsr(SYNIC_MSR_SINT0, 0x0fn)).toBe(false);
    expect(synic.writeMsr(SYNIC_MSR_SINT0, 0x1000fn)).toBe(true); // masked: allowed (Hyper-V writes it so)
    expect(synic.writeMsr(SYNIC_MSR_SIMP, 0x20001n)).toBe(false);
    expect(synic.readMsr(SYNIC_MSR_EOM)).toBe(0n);
  });

  it("a busy slot: msg_pending set, no interrupt; the EOM after the guest frees it delivers the message", () => {
    const { synic, raised, slot } = synicOnMemory();
    synic.writeMsr(SYNIC_MSR_SINT0 + 4, 0x40n);
    slot(4).setUint32(0, 0x1234, true);          // a message the guest has not consumed
    const owner = {};
    let delivered = 0;
    const msg = { type: 0x55, payload: Uint8Array.of(1, 2, 3) };
    expect(synic.post(4, owner, () => msg, () => delivered++)).toBe("staged");
    expect(slot(4).getUint8(5) & 1).toBe(1);
    expect(raised).toEqual([]);
    expect(synic.post(4, owner, () => msg)).toBe("busy");  // one in flight per owner
    synic.writeMsr(SYNIC_MSR_EOM, 0n);           // EOM with the slot still busy: nothing
    expect([raised, delivered]).toEqual([[], 0]);
    slot(4).setUint32(0, 0, true);
    synic.writeMsr(SYNIC_MSR_EOM, 0n);
    expect([slot(4).getUint32(0, true), slot(4).getUint8(4), slot(4).getUint8(5), slot(4).getUint8(16)]).toEqual([0x55, 3, 0, 1]);
    expect([raised, delivered]).toEqual([[0x40], 1]);
  });

  it("a masked SINT takes its message but raises nothing", () => {
    const { synic, raised, slot } = synicOnMemory();
    expect(synic.post(1, {}, () => ({ type: 7, payload: new Uint8Array(0) }))).toBe("delivered");
    expect(slot(1).getUint32(0, true)).toBe(7);
    expect(raised).toEqual([]);
  });
});

describe("synthetic timers (TLFS 12.2)", () => {
  /** `skew`: the reference counter's lead over the clock, in 100 ns units (a TSC page's time need not be the clock's). */
  function timerOnSynic(skew = 0) {
    const s = synicOnMemory();
    s.synic.writeMsr(SYNIC_MSR_SINT0 + 2, 0x60n);
    const clock = new VirtualClock({ mode: "deterministic" });
    const reference = () => BigInt(Math.floor(clock.nowNs() / 100) + skew);
    const direct: number[] = [];
    const timer = new SyntheticTimer(1, { synic: s.synic, clock, referenceTime: reference, raise: (v) => direct.push(v) });
    const advance = (ns: number) => { clock.skipTo(clock.nowNs() + ns); clock.runDue(); };
    return { ...s, clock, timer, advance, direct };
  }

  it("auto-enable: a non-zero count enables it, a zero count disables it; message mode with SINTx 0 stays disabled", () => {
    const { timer } = timerOnSynic();
    timer.writeConfig((2n << 16n) | 8n);         // auto-enable, SINT2, not enabled
    timer.writeCount(1000n);
    expect(timer.readMsr(true) & 1n).toBe(1n);
    timer.writeCount(0n);
    expect(timer.readMsr(true) & 1n).toBe(0n);
    timer.writeConfig(1n);                        // enable with SINTx 0 once it was enabled: stays off
    timer.writeConfig(1n);
    expect(timer.readMsr(true)).toBe(0n);
  });

  it("periodic: one message per period, none while its slot is busy (no burst after), then on from the EOM", () => {
    const { timer, advance, raised, slot, synic } = timerOnSynic();
    timer.writeCount(10_000n);                   // 1 ms
    timer.writeConfig((2n << 16n) | 3n);         // enable, periodic, SINT2
    advance(1_000_000);
    expect(raised).toEqual([0x60]);
    expect(slot(2).getUint32(16, true)).toBe(1);  // timer index
    expect(slot(2).getBigUint64(24, true)).toBe(10_000n); // expiration time
    advance(5_000_000);                          // the guest never frees the slot: no more messages
    expect(raised).toEqual([0x60]);
    expect(slot(2).getUint8(5) & 1).toBe(1);
    slot(2).setUint32(0, 0, true);
    synic.writeMsr(SYNIC_MSR_EOM, 0n);           // the waiting expiry is delivered, and the timer runs on from now
    expect(raised).toEqual([0x60, 0x60]);
    expect(slot(2).getBigUint64(32, true)).toBe(60_000n); // delivered at the EOM
    slot(2).setUint32(0, 0, true);
    advance(1_000_000);
    expect(raised.length).toBe(3);
  });

  it("counts in reference time, wherever that comes from: armed for the distance to the expiry, on time", () => {
    for (const skew of [1_000_000, -3]) {
      const { timer, advance, direct } = timerOnSynic(skew);
      timer.writeCount(BigInt(skew) + 10_000n);   // one-shot at reference time 1 ms past the clock's 0
      timer.writeConfig(1n | (1n << 12n) | (0x33n << 4n));
      advance(999_900);
      expect(direct).toEqual([]);
      advance(100);
      expect(direct).toEqual([0x33]);
    }
  });

  it("direct mode raises its vector; a one-shot expiry already past fires at once and disables the timer", () => {
    const { timer, advance, direct, clock } = timerOnSynic();
    clock.skipTo(5_000_000);
    timer.writeCount(100n);                      // 10 µs after power-on: long past
    timer.writeConfig(1n | (1n << 12n) | (0x77n << 4n));
    advance(0);
    expect(direct).toEqual([0x77]);
    expect(timer.readMsr(true) & 1n).toBe(0n);
  });

  it("a snapshot of a timer waiting for its slot: restored, the EOM delivers its message as in the run never stopped", () => {
    const a = timerOnSynic();
    a.timer.writeCount(10_000n);
    a.timer.writeConfig((2n << 16n) | 1n);       // one-shot at 1 ms, SINT2
    a.slot(2).setUint32(0, 0x99, true);          // busy
    a.advance(2_000_000);
    const saved = { clock: a.clock.save(), synic: a.synic.save(), timer: a.timer.save(), ram: a.ram.slice() };
    const b = timerOnSynic();
    b.ram.set(saved.ram);
    b.clock.restore(saved.clock);
    b.synic.restore(saved.synic);
    b.timer.restore(saved.timer);
    for (const m of [a, b]) {
      m.slot(2).setUint32(0, 0, true);
      m.synic.writeMsr(SYNIC_MSR_EOM, 0n);
    }
    expect(b.raised).toEqual([0x60]);
    expect(b.ram).toEqual(a.ram);
    expect(b.timer.readMsr(true)).toBe(a.timer.readMsr(true));
    expect(b.timer.readMsr(true) & 1n).toBe(0n);
  });
});
