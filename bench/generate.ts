/** A large spec for benchmarks: many models, a third of them extending an earlier one. */
export function generateSpec(targetBytes: number): string {
  const parts: string[] = ['# generated for benchmarks\n'];
  let size = parts[0]!.length;
  for (let i = 0; size < targetBytes; i++) {
    const text =
      i % 3 === 2
        ? `model net${i} extends net${i - 1} {\n  stage conv4 { blocks ${(i % 20) + 2} }\n  block bottleneck { groups 32  width_per_group 4 }\n  classes ${10 + (i % 990)}\n}\n\n`
        : `# variant ${i}
model net${i} {
  input 3x${64 + (i % 4) * 32}x${64 + (i % 4) * 32}
  classes 1000
  stem {
    conv 7x7 64 stride 2
    maxpool 3x3 stride 2
  }
  block ${i % 2 ? 'bottleneck' : 'basic'}
  shortcut ${'ABCD'[i % 4]}
  stage conv2 { blocks ${(i % 3) + 1}  width 64 }
  stage conv3 { blocks ${(i % 4) + 1}  width 128  stride 2 }
  stage conv4 { blocks ${(i % 6) + 1}  width 256  stride 2 }
  stage conv5 { blocks ${(i % 3) + 1}  width 512  stride 2 }
  norm batch { eps 1e-5  momentum 0.1 }
}

`;
    parts.push(text);
    size += text.length;
  }
  return parts.join('');
}
