# digits.bash - bash completion for the digits program: commands, each command's options
# (read from `digits COMMAND --help`, so they follow the program), presets, plot kinds,
# and file names of the right kind: models, images, history CSVs, folders, pictures.
# Installed to $(datadir)/bash-completion/completions/digits, or sourced by hand:
#   . completion/digits.bash

_digits_options()
{
    # every --long and -x option the command's help mentions
    "$1" $2 --help 2>/dev/null | grep -oE '(^|[ ,\[])--?[a-zA-Z][a-zA-Z-]*' |
        sed -E 's/^[ ,\[]//' | sort -u
}

_digits_commands()
{
    # the names listed under "commands:" in `digits --help`
    "$1" --help 2>/dev/null | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }'
}

_digits_presets()
{
    # the names listed under --preset in `digits train --help`
    "$1" train --help 2>/dev/null | sed -n '/--preset NAME/,/--spec/p' |
        awk 'NR > 1 && /^                     [a-z]/ { print $1 }'
}

_digits()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    local prog=${words[0]}
    local commands
    commands="$(_digits_commands "$prog") help"
    commands=${commands//$'\n'/ }
    if [ "$cword" -eq 1 ]; then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi
    local cmd=${words[1]}
    local sub=""
    if [ "$cmd" = help ]; then
        [ "$cword" -eq 2 ] && COMPREPLY=($(compgen -W "${commands% help}" -- "$cur"))
        return
    fi
    if [ "$cmd" = plot ]; then
        if [ "$cword" -eq 2 ]; then
            COMPREPLY=($(compgen -W "history predictions confusion filters activations --help" \
                -- "$cur"))
            return
        fi
        sub=${words[2]}
    fi

    # the value of the option before the cursor
    case $prev in
    --preset)
        COMPREPLY=($(compgen -W "$(_digits_presets "$prog")" -- "$cur"))
        return
        ;;
    --optimizer)
        COMPREPLY=($(compgen -W "adam sgd" -- "$cur"))
        return
        ;;
    --schedule)
        COMPREPLY=($(compgen -W "cosine constant onecycle" -- "$cur"))
        return
        ;;
    --precision)
        COMPREPLY=($(compgen -W "fp32 bf16" -- "$cur"))
        return
        ;;
    -m | --model)
        COMPREPLY=($(compgen -f -X '!*.model' -- "$cur") $(compgen -d -- "$cur"))
        return
        ;;
    --history)
        COMPREPLY=($(compgen -f -X '!*.csv' -- "$cur") $(compgen -d -- "$cur"))
        return
        ;;
    --data | --samples | --save-preprocessed | --show-steps)
        COMPREPLY=($(compgen -d -- "$cur"))
        return
        ;;
    --explain)
        COMPREPLY=($(compgen -f -X '!*.@(png|PNG)' -- "$cur") $(compgen -d -- "$cur"))
        return
        ;;
    --plot)
        COMPREPLY=($(compgen -f -X '!*.@(png|svg|PNG|SVG)' -- "$cur") $(compgen -d -- "$cur"))
        return
        ;;
    -o | --output)
        case $cmd in
        train | import) COMPREPLY=($(compgen -f -X '!*.model' -- "$cur") $(compgen -d -- "$cur")) ;;
        export) COMPREPLY=($(compgen -f -X '!*.onnx' -- "$cur") $(compgen -d -- "$cur")) ;;
        report) COMPREPLY=($(compgen -d -- "$cur")) ;;
        *) COMPREPLY=($(compgen -f -X '!*.@(png|svg|PNG|SVG)' -- "$cur") $(compgen -d -- "$cur")) ;;
        esac
        return
        ;;
    --epochs | --batch | --lr | --seed | --threads | --n | --cols | --limit | --mistakes | \
        --min-confidence | --val-split | --spec | --labels | --host | --port | --max-body | \
        --input-scale | --input-mean | --input-std | --checkpoint-every | --early-stop)
        return # a value to type
        ;;
    esac

    if [[ $cur == -* ]]; then
        local help_of=$cmd
        [ -n "$sub" ] && help_of="plot"
        COMPREPLY=($(compgen -W "$(_digits_options "$prog" "$help_of")" -- "$cur"))
        return
    fi
    # arguments
    case $cmd in
    predict | read)
        COMPREPLY=($(compgen -f -X '!*.@(png|jpg|jpeg|pgm|ppm|pnm|bmp|PNG|JPG|JPEG|PGM|PPM|PNM|BMP)' \
            -- "$cur") $(compgen -d -- "$cur"))
        ;;
    info | verify | evaluate | report | export)
        COMPREPLY=($(compgen -f -X '!*.model' -- "$cur") $(compgen -d -- "$cur"))
        ;;
    import)
        COMPREPLY=($(compgen -f -X '!*.onnx' -- "$cur") $(compgen -d -- "$cur"))
        ;;
    train)
        [ "$prev" = --resume ] &&
            COMPREPLY=($(compgen -f -X '!*.ckpt' -- "$cur") $(compgen -d -- "$cur"))
        ;;
    plot)
        case $sub in
        history) COMPREPLY=($(compgen -f -X '!*.csv' -- "$cur") $(compgen -d -- "$cur")) ;;
        activations)
            COMPREPLY=($(compgen -f -X '!*.@(png|jpg|jpeg|pgm|ppm|pnm|bmp|PNG|JPG|JPEG|PGM|PPM|PNM|BMP)' \
                -- "$cur") $(compgen -d -- "$cur"))
            ;;
        esac
        ;;
    esac
}
complete -F _digits digits
