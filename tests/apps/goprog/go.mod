module moat.example/goprog

go 1.19
