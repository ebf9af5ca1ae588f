# bash completion for dkmsd (dkms-ts)
_dkmsd() {
  local cur prev
  COMPREPLY=()
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD - 1]}
  case $prev in
    --config | --socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    kernel-added | kernel-removed)
      COMPREPLY=($(compgen -W "$(ls /lib/modules 2>/dev/null)" -- "$cur"))
      return ;;
  esac
  case $COMP_CWORD in
    1) COMPREPLY=($(compgen -W "run notify status help" -- "$cur")) ;;
    2)
      case $prev in
        notify) COMPREPLY=($(compgen -W "kernel-added kernel-removed module-added rescan" -- "$cur")) ;;
        help) COMPREPLY=($(compgen -W "run notify status" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "--config --json --socket --help" -- "$cur")) ;;
      esac ;;
    *) COMPREPLY=($(compgen -W "--wait --timeout --retry-failed --socket --json --config" -- "$cur")) ;;
  esac
}
complete -F _dkmsd dkmsd
