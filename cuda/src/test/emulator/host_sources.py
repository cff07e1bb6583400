# Writes host-compilable copies of the CUDA kernel sources (usage: host_sources.py <cuda source dir> <out dir>):
# each function holding inline PTX gets an emulated body (emu_cuda.h), extern shared memory becomes the emulated block.
# The sources are read from any directory laid out as cuda/src/main/cuda (.cu and .cuh files, bf16/ beside them).
import os, re, sys
src, out = sys.argv[1], sys.argv[2]
BODIES = {  # the start of a definition -> its emulated body
 'void swi_cp_async16(uint32_t': '{ emu_cp_async(smem, gmem, 16, srcBytes); }',
 'void swi_cp_async16(void*': '{ emu_cp_async(swi_smem_addr(smem), gmem, 16, srcBytes); }',
 'void swi_cp_async8(': '{ emu_cp_async(swi_smem_addr(smem), gmem, 8, srcBytes); }',
 'void swi_cp_async4(': '{ emu_cp_async(swi_smem_addr(smem), gmem, 4, srcBytes); }',
 'void swi_cp_async_commit(': '{ emu_cp_async_commit(); }',
 'void swi_cp_async_wait(': '{ emu_cp_async_wait(N); }',
 'void swi_bar_arrive(': '{ emu_bar_arrive(id); }',
 'void swi_bar_sync(': '{ emu_bar_sync(id); }',
 'void dmma16x8x4(': '{ emu_mma16x8x4(c, a0, a1, b0); }',
 'void dmma16x8x16(': '{ emu_mma16x8x16(c, a, b); }',
 'void ldsm_x4(': '{ emu_ldsm_x4(r0, r1, r2, r3, addr, false); }',
 'void ldsm_x4_t(': '{ emu_ldsm_x4(r0, r1, r2, r3, addr, true); }',
 'void mma16816(': '{ emu_mma16816(c, a, b0, b1); }',
 'float fast_exp2(': '{ return emu_ex2_approx_ftz(x); }',
 # wgmma (bf16/wgmma_ops.cuh): the fences and group waits, and the wrappers by shape (m64n<N>k16, A from a descriptor
 # or from registers, B's transposed-B immediate), each emulated body tied to the instruction text below
 'void wg_fence(': '{ emu_wgmma_fence(); }',
 'void wg_commit(': '{ emu_wgmma_commit(); }',
 'void wg_wait0(': '{ emu_wgmma_wait(0); }',
 'void fence_proxy_async(': '{ emu_fence_proxy_async(); }',
 'void wgmma_ss_m64n64(': '{ emu_wgmma(d, 64, nullptr, a, b, false); }',
 'void wgmma_rs_m64n64(': '{ emu_wgmma(d, 64, a, 0, b, true); }',
 'void wgmma_rs_m64n128(': '{ emu_wgmma(d, 128, a, 0, b, true); }',
}
# The instruction an emulated wgmma body stands for: shape, operand form and immediates (scale-d from the predicate
# p = 1, scale-a = scale-b = 1, trans-a = 0 for a shared A, trans-b), checked against the original body so that a
# wrapper whose PTX changes is not silently emulated as the old one.
WGMMA = r'setp\.ne\.b32 p, 1, 0;.*wgmma\.mma_async\.sync\.aligned\.'
WGMMA_PTX = {
 'void wgmma_ss_m64n64(': WGMMA + r'm64n64k16\.f32\.bf16\.bf16 \{[^}]*\}, %32, %33, p, 1, 1, 0, 0;',
 'void wgmma_rs_m64n64(': WGMMA + r'm64n64k16\.f32\.bf16\.bf16 \{[^}]*\}, \{%32, %33, %34, %35\}, %36, p, 1, 1, 1;',
 'void wgmma_rs_m64n128(': WGMMA + r'm64n128k16\.f32\.bf16\.bf16 \{[^}]*\}, \{%64, %65, %66, %67\}, %68, p, 1, 1, 1;',
}
def strip_asm(s):
    # any other inline PTX (trap: code no emulated kernel runs) becomes emu_unemulated(its text), which stops
    # the program naming the instruction if it is ever reached; the file still compiles
    out, i = [], 0
    for m in re.finditer(r'\basm\s*(?:volatile\s*)?\(', s):
        if m.start() < i: continue
        depth, e = 0, m.end() - 1
        while True:
            if s[e] == '(': depth += 1
            elif s[e] == ')':
                depth -= 1
                if depth == 0: break
            e += 1
        head = re.match(r'\s*((?:"[^"]*"\s*)*)', s[m.end():e]).group(1)  # the template's string literals
        lines = ''.join(re.findall(r'"([^"]*)"', head)).split('\\n')
        lines = [l.strip() for l in lines if l.strip() and not l.strip().startswith(('{', '}', '.reg', 'setp'))]
        text = lines[0].replace('\\', '')[:60] if lines else ''
        # an empty template (a compiler fence) does nothing
        out.append(s[i:m.start()] + ('emu_unemulated("' + text + '")' if text else '(void)0'))
        i = e + 1
    return ''.join(out) + s[i:]
def patch(s):
    for key, body in BODIES.items():
        i = 0
        while True:
            i = s.find(key, i)
            if i < 0: break
            # must be a definition: find the '{' after the closing ')' of the parameter list
            j = s.find(')', i); k = s.find('{', j); semi = s.find(';', j)
            if semi < k and s[j+1:semi].strip() == '':  # a declaration, not a definition
                i += 1; continue
            depth, e = 0, k
            while True:
                if s[e] == '{': depth += 1
                elif s[e] == '}':
                    depth -= 1
                    if depth == 0: break
                e += 1
            if key in WGMMA_PTX and not re.search(WGMMA_PTX[key], s[k:e+1], re.S):
                sys.exit('host_sources.py: the PTX of %s...) is not the instruction its emulation stands for' % key)
            s = s[:k] + body + s[e+1:]
            i = k + len(body)
    s = strip_asm(s)
    s = re.sub(r'extern __shared__ (?:__align__\(\d+\) )?(?:unsigned char|uint8_t) (\w+)\[\];',
               r'unsigned char* \1 = emu_smem;', s)
    return '#include "emu_cuda.h"\n' + s
for d in ('', 'bf16'):
    if not os.path.isdir(os.path.join(src, d)): continue
    os.makedirs(os.path.join(out, d), exist_ok=True)
    for f in os.listdir(os.path.join(src, d)):
        if f.endswith(('.cu', '.cuh')):
            open(os.path.join(out, d, f), 'w').write(patch(open(os.path.join(src, d, f)).read()))
