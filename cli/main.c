/*
 * main.c - the `digits` program: the command table and dispatch. The only place that
 * exits: 0 success, 1 failure, 2 usage error.
 */
#include "cli.h"

#include <string.h>

static const cli_command commands[] = {
    {"train", cmd_train,
     "[--preset NAME | --spec \"...\"] [--epochs N] [--batch N] [--lr X] [--seed N] "
     "[--threads N] [--data DIR] [-o MODEL] | --resume CKPT",
     "train a network on MNIST-format data and save it, or continue a stopped run"},
    {"evaluate", cmd_evaluate, "[MODEL | --model MODEL] [--data DIR]",
     "test loss, accuracy, per-class accuracy and confusion matrix"},
    {"predict", cmd_predict, "[--model MODEL] [--csv] [--show] [--plot OUT.png|.svg] PATH...",
     "recognise the digit in PNG/JPEG/PGM/BMP images or folders of them"},
    {"read", cmd_read, "[--model MODEL] [--csv] [--show] [--plot OUT.png|.svg] IMAGE...",
     "read a whole written number: find its digits left to right and recognise each"},
    {"info", cmd_info, "[MODEL | --model MODEL]",
     "layers, output shapes, parameter counts and metadata"},
    {"verify", cmd_verify, "[MODEL... | --model MODEL]",
     "check a model file's structure and checksum"},
    {"plot", cmd_plot,
     "history [CSV] | predictions [--errors] | confusion | filters | activations IMAGE "
     "[--model MODEL] [-o OUT.png|.svg]",
     "draw training curves, prediction grids, a confusion heat-map, filters or feature maps"},
    {"report", cmd_report,
     "[MODEL | --model MODEL] [--data DIR] [--history CSV] [--samples DIR] [-o DIR]",
     "write a self-contained HTML report: model, curves, test results, mistakes, samples"},
    {"serve", cmd_serve, "[--model MODEL] [--host 127.0.0.1] [--port 8080] [--threads N]",
     "the page (draw, upload, photograph a digit) and the JSON API over HTTP"},
    {"export", cmd_export, "[MODEL | --model MODEL] -o OUT.onnx", "write a model as an ONNX file"},
    {"import", cmd_import, "IN.onnx -o MODEL [--input-scale X] [--input-mean X] [--input-std X]",
     "turn an ONNX model (PyTorch, digits export) into a digits model"},
};

static void print_usage(FILE *f)
{
    fprintf(f, "usage: digits COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\nMODEL is model/digits.model unless --model (or, for info, verify, evaluate and\n"
               "report, a MODEL argument) names another.\n"
               "'digits help COMMAND' or 'digits COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return DG_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") && argc >= 3) {
        /* `digits help COMMAND` is `digits COMMAND --help` */
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
            if (!strcmp(argv[2], commands[i].name)) {
                char help[] = "--help";
                char *args[] = {argv[2], help, NULL};
                return commands[i].run(2, args);
            }
        }
        fprintf(stderr, "digits: help: unknown command '%s'\n", argv[2]);
        print_usage(stderr);
        return DG_EXIT_USAGE;
    }
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        print_usage(stdout);
        return DG_EXIT_OK;
    }
    if (!strcmp(name, "--version")) {
        printf("digits %s\n", DG_VERSION_STRING);
        return DG_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (!strcmp(name, commands[i].name)) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "digits: unknown command '%s'\n", name);
    print_usage(stderr);
    return DG_EXIT_USAGE;
}
