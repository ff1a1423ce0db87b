module nvmerpc.dev/client

go 1.23
