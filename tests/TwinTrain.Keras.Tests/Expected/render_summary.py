# Reproduces keras/src/utils/summary_utils.py print_summary (sequential_like branch) with rich, without Keras:
# same positions, header, alignment, Table(width=line_length, show_lines=True), capture Console settings and footer.
import sys, rich, rich.console, rich.table, rich.markup
def hn(x): return f"[color(45)]{x}[/]" if x is None else f"[color(34)]{x}[/]"
def hs(x): return f"[color(33)]{x}[/]"
def bold(x): return f"[bold]{x}[/]"
def mem(b):
    for u in ["B","KB","MB","GB","TB","PB"]:
        if b/1024 < 1: return "{:.2f} {}".format(b,u)
        b/=1024
WIDTH=80
def render(name, layers, trainable, nontrainable, optimizer, line_length):
    positions=[0.45,0.80,1.0]; header=["Layer (type)","Output Shape","Param #"]; alignment=["left","left","right"]
    widths=[]; cur=0
    for p in positions:
        w=int(p*line_length)-cur; widths.append(w); cur+=w
    cols=[rich.table.Column(h, justify=alignment[i], width=widths[i]) for i,h in enumerate(header)]
    t=rich.table.Table(*cols, width=line_length, show_lines=True)
    for lname, cls, shape, params in layers:
        n=rich.markup.escape(lname)+f" ({hs(rich.markup.escape(cls))})"
        s="(" + ", ".join(hn(x) for x in shape) + ")"
        t.add_row(n, s, hn(f"{params:,}"))
    c=rich.console.Console(highlight=False, force_terminal=False, color_system=None, width=WIDTH)
    c.begin_capture()
    c.print(bold(f'Model: "{rich.markup.escape(name)}"'))
    c.print(t)
    total=trainable+nontrainable+optimizer
    obytes = (optimizer - 2) * 4 + 4 + 8 if optimizer else 0  # iterations is int64, learning_rate float32
    c.print(bold(" Total params: ")+hn(f"{total:,}")+f" ({mem(trainable*4+nontrainable*4+obytes)})")
    c.print(bold(" Trainable params: ")+hn(f"{trainable:,}")+f" ({mem(trainable*4)})")
    c.print(bold(" Non-trainable params: ")+hn(f"{nontrainable:,}")+f" ({mem(nontrainable*4)})")
    if optimizer: c.print(bold(" Optimizer params: ")+hn(f"{optimizer:,}")+f" ({mem(obytes)})")
    return c.end_capture()
study=[("conv2d","Conv2D",(None,30,30,32),896),("max_pooling2d","MaxPooling2D",(None,15,15,32),0),
       ("conv2d_1","Conv2D",(None,13,13,64),18496),("max_pooling2d_1","MaxPooling2D",(None,6,6,64),0),
       ("flatten","Flatten",(None,2304),0),("dense","Dense",(None,64),147520),("dense_1","Dense",(None,10),650)]

mode=sys.argv[1]
if mode=="study76": sys.stdout.write(render("sequential", study, 167562, 0, 0, 76))
if mode=="study88": WIDTH=120; sys.stdout.write(render("sequential", study, 167562, 0, 335126, 88))
if mode=="long": 
    bn=[("a_rather_long_layer_name_for_conv","Conv2D",(None,32,32,32),896),("batch_normalization","BatchNormalization",(None,32,32,32),128),
        ("global_average_pooling2d","GlobalAveragePooling2D",(None,32),0),("dense","Dense",(None,10),330)]
    sys.stdout.write(render("cnn", bn, 896+64+330, 64, 0, 60))
